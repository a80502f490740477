// A bad day, through a real port (issue 15, items 5 and 7): the server's Firestore emulator is killed
// under it. `/readyz` answers promptly (each check under its own deadline) and names the failing
// dependency without an address or an error text; a write refused by an open circuit breaker is a 503
// whose Retry-After is the breaker's wait.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { emulatorClient, emulatorLocation, uniqueProjectId } from "../../../test/firestore.js";
import { call, createDevices } from "../../../test/reliability/support.js";
import { DEFAULT_BOOTSTRAP_CONFIG, reconcileBootstrapDocument } from "./bootstrap/index.js";
import { freePort, type RunningEmulator, startFirestoreEmulator } from "./firestore/emulator.js";
import { startTestServer, type TestServer } from "./testing/server.js";

const TENANT = "demo";

describe("while the Firestore under a running server is down", () => {
  let emulator: RunningEmulator;
  let server: TestServer;
  let port: number;
  let device: { id: string; token: string };

  beforeAll(async () => {
    port = await freePort();
    emulator = await startFirestoreEmulator({ location: emulatorLocation(), port });
    const projectId = uniqueProjectId("outage-http");
    server = await startTestServer({
      FIRESTORE_EMULATOR_HOST: `127.0.0.1:${port}`,
      GOOGLE_CLOUD_PROJECT: projectId,
      USE_FIRESTORE_TELEMETRY: "1",
      DEVICE_WRITES_PER_MINUTE: "100000",
    });
    const db = emulatorClient(projectId, `127.0.0.1:${port}`);
    await reconcileBootstrapDocument(db, DEFAULT_BOOTSTRAP_CONFIG, { preflight: false });
    await db.terminate();
    const login = await call(server.url, "POST", "/api/auth/login", {
      tenant: TENANT,
      body: { username: "admin", password: server.adminPassword },
    });
    [device] = await createDevices(server.url, { tenant: TENANT, session: login.session!, count: 1 });
    expect((await call(server.url, "GET", "/readyz")).status).toBe(200);
    emulator.process.kill("SIGKILL");
    await new Promise((resolve) => emulator.process.once("exit", resolve));
  }, 90_000);
  afterAll(async () => {
    // Back on its port first, so that the server's close (its Firestore client, queued writes) completes.
    if (port) emulator = await startFirestoreEmulator({ location: emulatorLocation(), port });
    // ...and the checks still retrying on the dead emulator settled (a /readyz that joins them answers
    // without a timeout), so that closing the Firestore client rejects none of them unobserved.
    if (server) {
      await vi.waitFor(
        async () => {
          const { body } = await call(server.url, "GET", "/readyz", { timeoutMs: 10_000 });
          const checks = Object.values((body as { checks: Record<string, { reason?: string }> }).checks);
          expect(checks.some((check) => check.reason === "timeout")).toBe(false);
        },
        { timeout: 45_000, interval: 250 },
      );
    }
    await server?.close();
    await emulator?.stop();
  }, 60_000);

  it("answers /readyz with 503 naming firestore, with no address or error text, however often it is asked", async () => {
    // Without per-check deadlines the SDK's own retries held this for 40 s and more: a hang fails here.
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => call(server.url, "GET", "/readyz", { timeoutMs: 10_000 })),
    );
    for (const ready of answers) {
      expect(ready.status).toBe(503);
      const body = ready.body as {
        status: string;
        checks: Record<string, { status: string; reason?: string }>;
      };
      expect(body.status).toBe("unavailable");
      expect(body.checks.sqlite).toEqual({ status: "ok" });
      expect(body.checks.firestore).toEqual({
        status: "failed",
        reason: expect.stringMatching(/^(error|timeout)$/),
      });
      const text = JSON.stringify(body);
      expect(text).not.toContain(String(port));
      expect(text).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|UNAVAILABLE|Error/);
    }
  }, 30_000);

  it("answers a write that an open circuit breaker refuses with 503 UNAVAILABLE and the breaker's Retry-After", async () => {
    const write = () =>
      call(server.url, "POST", `/api/devices/${device.id}/telemetry`, {
        tenant: TENANT,
        bearer: device.token,
        body: { points: [{ timestamp_ms: Date.now(), metrics: { zone_temp_c: 21.5 } }] },
        timeoutMs: 30_000,
      });
    // Failures open the breaker (5 in a row); from then on a write is refused with its wait (10 s), not
    // the 1 s default of any other 503.
    await vi.waitFor(
      async () => {
        const reply = await write();
        expect(reply.status).toBe(503);
        expect((reply.body as { error: { code: string } }).error.code).toBe("UNAVAILABLE");
        expect(Number(reply.headers["retry-after"])).toBeGreaterThanOrEqual(2);
      },
      { timeout: 60_000, interval: 100 },
    );
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    // The first store call of a write is the fleet's device write limit (`records`), then the telemetry
    // append: whichever Firestore endpoint failed first is the breaker that opened.
    expect(metrics).toMatch(/^firebrick_store_breaker_open\{endpoint="(records|telemetry)\.[^"]+"\} 1$/m);
  }, 90_000);
});
