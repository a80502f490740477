import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { AppError } from "../errors.js";
import { createLogger } from "../observability/logger.js";
import { StoreUnavailableError } from "../stores/types.js";
import { buildApp } from "./app.js";

const quietLogger = () =>
  createLogger(
    "info",
    new Writable({
      write(_chunk, _encoding, done) {
        done();
      },
    }),
  );

describe("the HTTP application", () => {
  it("answers /healthz with 200", async () => {
    const app = await buildApp({ logger: quietLogger(), readiness: [] });
    const response = await app.inject({ method: "GET", url: "/healthz" });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: "ok" });
  });

  it("answers /readyz with 200 when every check passes and 503 naming the one that fails", async () => {
    let healthy = true;
    const app = await buildApp({
      logger: quietLogger(),
      readiness: [
        { name: "sqlite", check: () => undefined },
        {
          name: "firestore",
          check: async () => {
            if (!healthy) throw new Error("emulator unreachable");
          },
        },
      ],
    });
    const ready = await app.inject({ method: "GET", url: "/readyz" });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: "ready",
      checks: { sqlite: { status: "ok" }, firestore: { status: "ok" } },
    });

    healthy = false;
    const unready = await app.inject({ method: "GET", url: "/readyz" });
    expect(unready.statusCode).toBe(503);
    // Which dependency failed, and how; never what it said (that goes to the log).
    expect(unready.json().checks.firestore).toEqual({ status: "failed", reason: "error" });
    expect(unready.body).not.toContain("emulator unreachable");
  });

  it("answers an unknown route with the JSON error shape and a request id", async () => {
    const app = await buildApp({ logger: quietLogger(), readiness: [] });
    const response = await app.inject({ method: "GET", url: "/nope" });
    expect(response.statusCode).toBe(404);
    const body = response.json();
    expect(body.error.code).toBe("NOT_FOUND");
    expect(body.error.request_id).toBe(response.headers["x-request-id"]);
  });

  it("turns an AppError into its catalogue status, code and headers", async () => {
    const app = await buildApp({ logger: quietLogger(), readiness: [] });
    app.get("/limited", async () => {
      throw new AppError("RATE_LIMITED", undefined, { headers: { "retry-after": "12" } });
    });
    const response = await app.inject({ method: "GET", url: "/limited" });
    expect(response.statusCode).toBe(429);
    expect(response.headers["retry-after"]).toBe("12");
    expect(response.json().error).toMatchObject({
      code: "RATE_LIMITED",
      message: "Too many requests; retry later.",
    });
  });

  it("answers malformed JSON with 400 VALIDATION_FAILED, not a 500", async () => {
    const app = await buildApp({ logger: quietLogger(), readiness: [] });
    app.post("/echo", async (request) => request.body);
    const response = await app.inject({
      method: "POST",
      url: "/echo",
      headers: { "content-type": "application/json" },
      payload: "{not json",
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe("VALIDATION_FAILED");
  });

  it("hides the details of an unexpected failure behind INTERNAL", async () => {
    const app = await buildApp({ logger: quietLogger(), readiness: [] });
    app.get("/boom", async () => {
      throw new Error("secret internals at /srv/db.ts:12");
    });
    const response = await app.inject({ method: "GET", url: "/boom" });
    expect(response.statusCode).toBe(500);
    expect(response.json().error).toMatchObject({ code: "INTERNAL", message: "Internal error." });
    expect(response.body).not.toContain("secret internals");
  });

  it("answers a store outage with 503 UNAVAILABLE and a Retry-After: the store's own wait, or a short default", async () => {
    const app = await buildApp({ logger: quietLogger(), readiness: [] });
    app.get("/breaker-open", async () => {
      throw new StoreUnavailableError("firestore telemetry.latest is unavailable", { retryAfterMs: 7_200 });
    });
    app.get("/down", async () => {
      throw new StoreUnavailableError("Firestore is unavailable");
    });
    const open = await app.inject({ method: "GET", url: "/breaker-open" });
    expect(open.statusCode).toBe(503);
    expect(open.json().error.code).toBe("UNAVAILABLE");
    expect(open.headers["retry-after"]).toBe("8");
    const down = await app.inject({ method: "GET", url: "/down" });
    expect(down.statusCode).toBe(503);
    expect(down.headers["retry-after"]).toBe("1");
  });
});
