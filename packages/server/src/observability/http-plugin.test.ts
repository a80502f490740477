import { Writable } from "node:stream";
import { setImmediate as nextTick } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { AppError } from "../errors.js";
import { buildApp } from "../http/app.js";
import { registerObservability } from "./http-plugin.js";
import { createLogger } from "./logger.js";
import { createMetrics } from "./metrics.js";
import { requestContext, requestScopedUsage } from "./request-context.js";

/** A logger writing JSON lines into an array, as production would write them to stdout. */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split("\n")) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger("info", stream), lines };
}

// What a store does when it serves a call: some I/O, then it reports the documents it billed.
async function storeCall(reads: number, writes: number): Promise<void> {
  await nextTick();
  requestScopedUsage().record("sqlite", "telemetry", reads, writes);
}

async function observedApp() {
  const { logger, lines } = capturedLogger();
  const metrics = createMetrics({ defaultMetrics: true });
  const app = await buildApp({ logger, readiness: [] });
  registerObservability(app, { metrics });
  app.get<{ Params: { id: string }; Querystring: { reads?: string } }>(
    "/api/devices/:id/telemetry",
    async (request) => {
      requestContext().set({
        tenant_id: "acme",
        device_id: request.params.id,
        action: "telemetry.latest",
      });
      await storeCall(Number(request.query.reads ?? 1), 0);
      return { points: [] };
    },
  );
  app.post<{ Params: { id: string }; Body: { points: unknown[] } }>(
    "/api/devices/:id/telemetry",
    async (request, reply) => {
      requestContext().set({ tenant_id: "acme", device_id: request.params.id, action: "telemetry.write" });
      await storeCall(1, request.body.points.length);
      return reply.status(202).send({ accepted: request.body.points.length });
    },
  );
  app.get("/limited", async () => {
    throw new AppError("RATE_LIMITED");
  });
  return { app, metrics, lines };
}

const summaries = (lines: Record<string, unknown>[]) => lines.filter((l) => l.msg === "request served");

describe("the observability plugin", () => {
  it("logs one line per request with request_id, tenant_id, device_id, action, reads, writes and latency_ms", async () => {
    const { app, lines } = await observedApp();
    const response = await app.inject({ method: "GET", url: "/api/devices/dev-1/telemetry?reads=3" });
    expect(response.statusCode).toBe(200);

    const [line] = summaries(lines);
    expect(summaries(lines)).toHaveLength(1);
    expect(line).toMatchObject({
      request_id: response.headers["x-request-id"],
      tenant_id: "acme",
      device_id: "dev-1",
      action: "telemetry.latest",
      route: "/api/devices/:id/telemetry",
      status_code: 200,
      reads: 3,
      writes: 0,
    });
    expect(typeof line?.latency_ms).toBe("number");
  });

  it("keeps the request's tally through body parsing, for requests with a JSON body", async () => {
    const { app, lines } = await observedApp();
    const response = await app.inject({
      method: "POST",
      url: "/api/devices/dev-2/telemetry",
      payload: { points: [{}, {}, {}, {}] },
    });
    expect(response.statusCode).toBe(202);
    expect(summaries(lines)[0]).toMatchObject({ device_id: "dev-2", reads: 1, writes: 4 });
  });

  it("gives concurrent requests separate tallies", async () => {
    const { app, lines } = await observedApp();
    await Promise.all(
      [1, 2, 3, 4, 5].map((reads) =>
        app.inject({ method: "GET", url: `/api/devices/d${reads}/telemetry?reads=${reads}` }),
      ),
    );
    const byDevice = Object.fromEntries(summaries(lines).map((l) => [l.device_id, l.reads]));
    expect(byDevice).toEqual({ d1: 1, d2: 2, d3: 3, d4: 4, d5: 5 });
  });

  it("takes fields the app can tell from the request, while fields set by handlers win", async () => {
    const { logger, lines } = capturedLogger();
    const app = await buildApp({ logger, readiness: [] });
    registerObservability(app, {
      metrics: createMetrics({ defaultMetrics: false }),
      describeRequest: (request) => ({
        tenant_id: request.headers["x-bas-tenant"] as string | undefined,
        device_id: (request.params as { id?: string }).id,
        action: "described",
      }),
    });
    app.get("/api/devices/:id", async () => ({}));
    app.get("/api/devices/:id/named", async () => {
      requestContext().set({ action: "devices.named" });
      return {};
    });
    await app.inject({ method: "GET", url: "/api/devices/d7", headers: { "x-bas-tenant": "acme" } });
    await app.inject({ method: "GET", url: "/api/devices/d8/named" });
    expect(summaries(lines)[0]).toMatchObject({ tenant_id: "acme", device_id: "d7", action: "described" });
    expect(summaries(lines)[1]).toMatchObject({ device_id: "d8", action: "devices.named" });
    expect(summaries(lines)[1]).not.toHaveProperty("tenant_id");
  });

  it("records nothing through requestScopedUsage outside a request", async () => {
    const { app, lines } = await observedApp();
    requestScopedUsage().record("firestore", "telemetry", 50, 50);
    await app.inject({ method: "GET", url: "/api/devices/dev-1/telemetry?reads=1" });
    expect(summaries(lines)[0]).toMatchObject({ reads: 1, writes: 0 });
    requestContext().set({ tenant_id: "ignored" });
    expect(requestContext().get()).toEqual({});
  });

  it("times requests by route pattern and status, never by raw URL", async () => {
    const { app } = await observedApp();
    await app.inject({ method: "GET", url: "/api/devices/aaaa/telemetry" });
    await app.inject({ method: "GET", url: "/api/devices/bbbb/telemetry" });
    await app.inject({ method: "GET", url: "/no/such/route/raw-url-zq" });
    const text = (await app.inject({ method: "GET", url: "/metrics" })).body;

    expect(text).toContain(
      'http_request_duration_seconds_count{method="GET",route="/api/devices/:id/telemetry",status_code="200"} 2',
    );
    expect(text).toContain(
      'http_request_duration_seconds_count{method="GET",route="unmatched",status_code="404"} 1',
    );
    expect(text).not.toContain("aaaa");
    // Not a digit string: a gauge value (heap bytes) could contain one.
    expect(text).not.toContain("raw-url-zq");
    expect(text).toContain('firebrick_action_duration_seconds_count{action="telemetry.latest"} 2');
  });

  it("keeps refusals out of the action latency histogram and logs 5xx lines at error level", async () => {
    const { app, lines } = await observedApp();
    app.get("/api/refused", async () => {
      requestContext().set({ action: "telemetry.latest" });
      throw new AppError("UNAUTHENTICATED");
    });
    app.get("/api/broken", async () => {
      requestContext().set({ action: "telemetry.latest" });
      throw new AppError("UNAVAILABLE");
    });
    await app.inject({ method: "GET", url: "/api/refused" });
    await app.inject({ method: "GET", url: "/api/broken" });
    const text = (await app.inject({ method: "GET", url: "/metrics" })).body;
    expect(text).not.toContain('firebrick_action_duration_seconds_count{action="telemetry.latest"}');
    const levels = summaries(lines).map((l) => [l.status_code, l.level]);
    expect(levels).toEqual([
      [401, 30],
      [503, 50],
    ]);
  });

  it("serves /metrics as Prometheus text with the process defaults, store counters and error codes", async () => {
    const { app, metrics } = await observedApp();
    metrics.usage.record("sqlite", "telemetry", 7, 2);
    metrics.observeLoginHashQueue(() => 4);
    metrics.observeStorageBytes("sqlite", () => 8192);
    await app.inject({ method: "GET", url: "/limited" });
    await app.inject({ method: "GET", url: "/nowhere" });

    const response = await app.inject({ method: "GET", url: "/metrics" });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toContain("text/plain");
    const text = response.body;
    expect(text).toContain("process_cpu_user_seconds_total");
    expect(text).toContain("nodejs_eventloop_lag_seconds");
    expect(text).toContain('firebrick_store_reads_total{backend="sqlite",area="telemetry"} 7');
    expect(text).toContain('firebrick_store_writes_total{backend="sqlite",area="telemetry"} 2');
    expect(text).toContain('firebrick_errors_total{code="RATE_LIMITED"} 1');
    expect(text).toContain('firebrick_errors_total{code="NOT_FOUND"} 1');
    expect(text).toContain("firebrick_login_hash_queue_depth 4");
    expect(text).toContain('firebrick_storage_bytes{backend="sqlite"} 8192');
  });
});
