import { createHash, randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import Fastify, { type FastifyBaseLogger } from "fastify";
import { describe, expect, it } from "vitest";
import { AppError } from "../errors.js";
import { buildApp } from "../http/app.js";
import { registerObservability, requestLogController } from "./http-plugin.js";
import { createLogger, type LoggerOptions, maskUsername } from "./logger.js";
import { createMetrics } from "./metrics.js";
import { requestContext } from "./request-context.js";

function capture(level: "trace" | "debug" | "info", options?: LoggerOptions) {
  let text = "";
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  const logger = createLogger(level, stream, options);
  return {
    logger,
    text: () => text,
    lines: () =>
      text
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe("maskUsername", () => {
  it("keeps the first character and hides the rest and the length", () => {
    expect(maskUsername("alice")).toBe("a***");
    expect(maskUsername("a")).toBe("a***");
    expect(maskUsername("bob.the.builder@example.com")).toBe("b***");
    expect(maskUsername("émile")).toBe("é***");
    expect(maskUsername("")).toBe("");
  });
});

describe("the logging policy", () => {
  it("never writes a session token, device token, password or hash, and masks usernames, over a full scenario", async () => {
    const username = "operator-rosalind";
    const password = `pw-${randomBytes(12).toString("hex")}`;
    const passwordHash = `$argon2id$v=19$m=65536,t=3,p=1$${randomBytes(16).toString("base64")}`;
    const sessionToken = randomBytes(32).toString("base64url");
    const sessionId = createHash("sha256").update(sessionToken).digest("hex");
    const deviceToken = `fbd_${randomBytes(24).toString("base64url")}`;
    const deviceTokenHash = createHash("sha256").update(deviceToken).digest("hex");
    const secrets = { password, passwordHash, sessionToken, sessionId, deviceToken, deviceTokenHash };

    const log = capture("trace", { debugSampleRate: 0.1, random: () => 0 });
    const app = await buildApp({ logger: log.logger, readiness: [] });
    registerObservability(app, { metrics: createMetrics({ defaultMetrics: false }) });

    // Handlers written carelessly, the way a log line slips into code under pressure.
    app.post<{ Body: { username: string; password: string } }>("/api/auth/login", async (request, reply) => {
      requestContext().set({ tenant_id: "acme", action: "auth.login" });
      request.log.debug({ body: request.body }, "login attempt");
      const user = { id: "u1", username: request.body.username, password_hash: passwordHash, role: "admin" };
      request.log.info({ user }, "user found");
      request.log.debug({ session: { id: sessionId, token: sessionToken } }, "session created");
      request.log.info({ headers: request.headers }, "login headers");
      request.log.info(`issued session ${sessionToken}`);
      reply.header("set-cookie", `fb_session=${sessionToken}; HttpOnly`);
      return { user: { id: user.id, username: user.username } };
    });
    app.post("/api/devices/:id/telemetry", async (request) => {
      requestContext().set({ tenant_id: "acme", device_id: "d1", action: "telemetry.write" });
      request.log.info({ authorization: request.headers.authorization }, "device auth");
      request.log.info({ device: { id: "d1", token_hash: deviceTokenHash } }, "device found");
      request.log.warn({ context: { nested: { deeper: { deviceToken } } } }, "deep object");
      request.log.info({ note: request.headers.authorization }, "a bearer value under an innocent key");
      return { accepted: 1 };
    });
    app.get("/api/reset", async (request) => {
      request.log.info({ req: request }, "reset link opened");
      throw new AppError("UNAUTHENTICATED");
    });
    app.post<{ Body: { password: string; new_password: string } }>("/api/auth/password", async (request) => {
      request.log.error({ input: request.body, err: new Error("hash failed") }, "password change failed");
      // A store error quoting the document path, whose id is the session token's SHA-256.
      const storeError = new Error(
        `5 NOT_FOUND: No document to update: projects/p/databases/(default)/documents/sessions/${sessionId}`,
      );
      request.log.error({ err: storeError }, "session touch failed");
      request.log.warn(`retrying with Authorization: Bearer ${deviceToken} and hash ${passwordHash}`);
      throw new AppError("INTERNAL");
    });

    await app.inject({
      method: "POST",
      url: "/api/auth/login",
      headers: { "x-bas-tenant": "acme", "user-agent": "Mozilla/5.0" },
      payload: { username, password },
    });
    await app.inject({
      method: "POST",
      url: "/api/devices/d1/telemetry",
      headers: { authorization: `Bearer ${deviceToken}`, cookie: `fb_session=${sessionToken}` },
      payload: { points: [] },
    });
    await app.inject({ method: "GET", url: `/api/reset?token=${sessionToken}&username=${username}` });
    await app.inject({
      method: "POST",
      url: "/api/auth/password",
      headers: { cookie: `fb_session=${sessionToken}` },
      payload: { password, new_password: `${password}-new` },
    });

    const text = log.text();
    expect(log.lines().length).toBeGreaterThan(10);
    for (const [name, secret] of Object.entries(secrets)) {
      expect(text.includes(secret), `${name} leaked into the log`).toBe(false);
    }
    expect(text).not.toContain(username);
    expect(text).toContain(maskUsername(username));
    // The lines are still useful: they exist and say what happened.
    expect(text).toContain("session created");
    expect(text).toContain("[redacted]");
  });

  it("keeps about the configured share of debug lines outside requests, and every info line", () => {
    let i = 0;
    const log = capture("debug", { debugSampleRate: 0.05, random: () => (i++ % 100) / 100 });
    for (let n = 0; n < 1000; n++) log.logger.debug({ n }, "tick");
    for (let n = 0; n < 10; n++) log.logger.info({ n }, "info");
    const lines = log.lines();
    expect(lines.filter((l) => l.msg === "tick")).toHaveLength(50);
    expect(lines.filter((l) => l.msg === "info")).toHaveLength(10);
  });

  it("caps the debug sampling rate at 10 % whatever is asked", () => {
    let i = 0;
    const log = capture("trace", { debugSampleRate: 1, random: () => (i++ % 100) / 100 });
    for (let n = 0; n < 1000; n++) log.logger.trace("tick");
    expect(log.lines()).toHaveLength(100);
  });

  it("keeps or drops all the debug lines of one request together", async () => {
    const decisions = [0.5, 0.01]; // first request dropped, second kept
    const log = capture("debug", { debugSampleRate: 0.1, random: () => decisions.shift() ?? 1 });
    const app = await buildApp({ logger: log.logger, readiness: [] });
    registerObservability(app, { metrics: createMetrics({ defaultMetrics: false }) });
    app.get<{ Querystring: { n: string } }>("/work", async (request) => {
      for (let step = 0; step < 5; step++) request.log.debug({ n: request.query.n, step }, "step");
      return {};
    });
    await app.inject({ method: "GET", url: "/work?n=1" });
    await app.inject({ method: "GET", url: "/work?n=2" });
    const steps = log.lines().filter((l) => l.msg === "step");
    expect(steps.map((l) => l.n)).toEqual(["2", "2", "2", "2", "2"]);
  });

  it("adds the request's tenant, device and action to lines logged while serving it", async () => {
    const log = capture("info");
    const app = await buildApp({ logger: log.logger, readiness: [] });
    registerObservability(app, { metrics: createMetrics({ defaultMetrics: false }) });
    app.get("/x", async (request) => {
      requestContext().set({ tenant_id: "acme", device_id: "d9", action: "telemetry.latest" });
      request.log.info("inside");
      return {};
    });
    await app.inject({ method: "GET", url: "/x" });
    log.logger.info("outside");
    const inside = log.lines().find((l) => l.msg === "inside");
    const outside = log.lines().find((l) => l.msg === "outside");
    expect(inside).toMatchObject({ tenant_id: "acme", device_id: "d9", action: "telemetry.latest" });
    expect(outside).not.toHaveProperty("tenant_id");
  });

  it("with requestLogController, writes exactly one line per request, keyed request_id", async () => {
    const log = capture("info");
    const app = Fastify({
      loggerInstance: log.logger as FastifyBaseLogger,
      logController: requestLogController(),
      genReqId: () => "fixed-request-id",
    });
    registerObservability(app, { metrics: createMetrics({ defaultMetrics: false }) });
    app.get("/one", async () => ({}));
    await app.inject({ method: "GET", url: "/one" });
    const text = log.text();
    expect(log.lines()).toHaveLength(1);
    expect(log.lines()[0]).toMatchObject({ msg: "request served", request_id: "fixed-request-id" });
    expect(text.match(/"request_id"/g)).toHaveLength(1);
  });
});
