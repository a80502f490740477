import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPasswordHasher } from "../auth/passwords.js";
import { loadConfig } from "../config/env.js";
import { createLogger } from "../observability/logger.js";
import { type RunningServer, startServer } from "../server.js";
import { ApiRequestError, FirebrickApiClient } from "./api-client.js";
import { DEMO_LOGIN, ensureDemoAdmin } from "./demo-admin.js";
import { DeviceTokenFile } from "./device-tokens.js";
import { METRIC_NAMES } from "./physics.js";
import { ensureDevices, simulate, zoneName } from "./simulator.js";

// The simulator against the real server on SQLite, through HTTP, with a server write limit of 2 points
// per device per minute so that the limit is reached within a test.
const SERVER_WRITES_PER_MINUTE = 2;
const credentials = { username: DEMO_LOGIN.username, password: DEMO_LOGIN.password };

let server: RunningServer;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "firebrick-sim-"));
  const config = loadConfig({
    FIREBRICK_DATA_DIR: dataDir,
    PORT: "0",
    DEVICE_WRITES_PER_MINUTE: String(SERVER_WRITES_PER_MINUTE),
  });
  const passwords = createPasswordHasher({ params: { memoryCost: 1024, timeCost: 1, parallelism: 1 } });
  server = await startServer(config, createLogger("silent"), { passwords, print: () => {} });
  await ensureDemoAdmin(server.stores.router.stores, passwords);
});

afterAll(async () => {
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const client = () =>
  new FirebrickApiClient({ baseUrl: server.url, tenant: DEMO_LOGIN.tenant, tenantHeader: "x-bas-tenant" });

describe("firebrick simulate against the HTTP API", () => {
  it("creates its devices once, reuses them on a re-run, and re-issues a token it lost", async () => {
    const tokens = new DeviceTokenFile(join(dataDir, "reuse", "devices.json"));
    const first = await ensureDevices({ api: client(), tokens, count: 2, credentials });
    expect(first.map((device) => device.name)).toEqual([zoneName(0), zoneName(1)]);

    const again = await ensureDevices({ api: client(), tokens, count: 2, credentials });
    expect(again).toEqual(first);
    // Without credentials, the token file is enough to carry on.
    expect(await ensureDevices({ api: client(), tokens, count: 2, credentials: null })).toEqual(first);

    // Lost the file: same devices (by name), new tokens, the old ones refused.
    const lost = new DeviceTokenFile(join(dataDir, "lost", "devices.json"));
    const recovered = await ensureDevices({ api: client(), tokens: lost, count: 3, credentials });
    expect(recovered.slice(0, 2).map((device) => device.id)).toEqual(first.map((device) => device.id));
    expect(recovered[0]!.token).not.toBe(first[0]!.token);
    expect(recovered[2]!.name).toBe(zoneName(2));
    const point = { timestamp_ms: Date.now(), metrics: { zone_temp_c: 21 } };
    await expect(client().postTelemetry(first[0]!.id, first[0]!.token, [point])).rejects.toMatchObject({
      status: 401,
    });
    await client().postTelemetry(recovered[0]!.id, recovered[0]!.token, [point]);
  });

  it("says which devices it cannot create without an admin's credentials", async () => {
    const tokens = new DeviceTokenFile(join(dataDir, "none", "devices.json"));
    await expect(ensureDevices({ api: client(), tokens, count: 1, credentials: null })).rejects.toThrow(
      /1 of 1 devices are not in .*an admin username and password are needed/,
    );
  });

  it("posts plausible BAS readings with the device's token, which the API serves back latest first", async () => {
    // The write limit is per device: take a device no other test has written to (the fourth zone).
    const tokens = new DeviceTokenFile(join(dataDir, "post", "devices.json"));
    const device = (await ensureDevices({ api: client(), tokens, count: 4, credentials }))[3];
    const controller = new AbortController();
    let posted = 0;
    const totals = await simulate({
      api: client(),
      devices: [device!],
      writesPerMinute: SERVER_WRITES_PER_MINUTE,
      intervalMs: 1000,
      backfill: 1,
      seed: 3,
      signal: controller.signal,
      onPoint: ({ points }) => {
        posted += points;
        if (posted >= 2) controller.abort();
      },
    });
    expect(totals).toMatchObject({ points: 2, rateLimited: 0, failures: 0 });

    const response = await fetch(`${server.url}/api/devices/${device!.id}/telemetry?limit=100`, {
      headers: { "x-bas-tenant": DEMO_LOGIN.tenant, cookie: await loginCookie() },
    });
    const body = (await response.json()) as {
      points: { timestamp_ms: number; metrics: Record<string, number> }[];
    };
    expect(body.points).toHaveLength(2);
    expect(body.points[0]!.timestamp_ms).toBeGreaterThan(body.points[1]!.timestamp_ms);
    expect(Object.keys(body.points[0]!.metrics).sort()).toEqual([...METRIC_NAMES].sort());
  });

  it("honours the server's 429 Retry-After when it writes faster than the server allows", async () => {
    const tokens = new DeviceTokenFile(join(dataDir, "limited", "devices.json"));
    const device = (await ensureDevices({ api: client(), tokens, count: 5, credentials }))[4];
    const controller = new AbortController();
    const retries: { status: number; waitMs: number }[] = [];
    // Told the limit is 600/min while the server allows 2: the third point is refused.
    const totals = await simulate({
      api: client(),
      devices: [device!],
      writesPerMinute: 600,
      intervalMs: 100,
      backfill: 0,
      seed: 4,
      signal: controller.signal,
      onRetry: ({ error, waitMs }) => {
        retries.push({ status: error.status, waitMs });
        controller.abort();
      },
    });
    expect(totals).toMatchObject({ points: SERVER_WRITES_PER_MINUTE, rateLimited: 1 });
    expect(retries).toHaveLength(1);
    expect(retries[0]!.status).toBe(429);
    // The bucket refills one point per 30 s at 2/min; Retry-After says so, and the simulator waits that long.
    expect(retries[0]!.waitMs).toBeGreaterThan(25_000);
    expect(retries[0]!.waitMs).toBeLessThanOrEqual(30_000);
  });

  it("reports an unreachable server as one clear error", async () => {
    const api = new FirebrickApiClient({
      baseUrl: "http://127.0.0.1:9",
      tenant: "demo",
      tenantHeader: "x-bas-tenant",
    });
    const error = await api.login("demo", "x").catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(ApiRequestError);
    expect((error as ApiRequestError).status).toBe(0);
    expect((error as ApiRequestError).message).toMatch(/^cannot reach http:\/\/127\.0\.0\.1:9/);
  });
});

async function loginCookie(): Promise<string> {
  const response = await fetch(`${server.url}/api/auth/login`, {
    method: "POST",
    headers: { "x-bas-tenant": DEMO_LOGIN.tenant, "content-type": "application/json" },
    body: JSON.stringify(credentials),
  });
  return response.headers
    .getSetCookie()
    .map((cookie) => cookie.split(";")[0])
    .join("; ");
}
