// What each per-device (and per-sign-in) structure of the server holds in memory, in bytes per entry:
// each is filled the way the server fills it, for N entries, and the heap measured before and after
// (after a full GC each time; run with --expose-gc). Prints one JSON object. Used by bench/phases/growth.ts.
import { randomUUID } from "node:crypto";
import { FailureLimiter } from "../../packages/server/src/auth/failure-limiter.js";
import { DeviceDirectory } from "../../packages/server/src/devices/directory.js";
import type {
  Device,
  DevicesStore,
  TelemetryPoint,
  TelemetryStore,
} from "../../packages/server/src/stores/types.js";
import { IngestLimiter } from "../../packages/server/src/telemetry/ingest-limiter.js";
import { LatestTelemetryCache } from "../../packages/server/src/telemetry/latest-cache.js";

const N = Number(process.argv[2] ?? 10_000);
const TENANT = "demo";
const gc = (globalThis as { gc?: () => void }).gc!;
const ids = Array.from({ length: N }, () => randomUUID());
const now = Date.now();

/** Bytes per entry that `fill` adds to the heap (`keep` holds the structure alive while measuring). */
async function perEntry(fill: () => Promise<unknown>): Promise<number> {
  gc();
  const before = process.memoryUsage().heapUsed;
  const structure = await fill();
  gc();
  const after = process.memoryUsage().heapUsed;
  if (!structure) throw new Error("nothing was built");
  return Math.round((after - before) / N);
}

// Devices as the stores return them (the fields of the devices table).
const device = (id: string): Device => ({
  id,
  tenant_id: TENANT,
  name: `AHU-${id.slice(0, 4)}`,
  token_hash: "a".repeat(32) + id.replace(/-/g, ""),
  created_at: now,
  token_rotated_at: now,
  location: { site: "HQ", building: "A", floor: "L2", zone: "East" },
  points: {},
  last_seen_ms: now,
});
// The latest 100 points of a device with the two metrics the bench writes, as the store returns them.
const points = (id: string): TelemetryPoint[] =>
  Array.from({ length: 100 }, (_, i) => ({
    tenant_id: TENANT,
    device_id: id,
    timestamp_ms: now - i * 12_000,
    metrics: { zone_temp_c: 21 + (i % 7) / 10, co2_ppm: 450 + i },
    source: "api",
  }));

const sizes = {
  devices: N,
  deviceDirectory: await perEntry(async () => {
    const store = { get: async (_tenant: string, id: string) => device(id) } as unknown as DevicesStore;
    const directory = new DeviceDirectory(
      () => store,
      () => now,
    );
    for (const id of ids) await directory.get(TENANT, id);
    return directory;
  }),
  ingestLimiter: await perEntry(async () => {
    const limiter = new IngestLimiter({ pointsPerMinute: 5, clock: () => now });
    for (const id of ids) limiter.take(`${TENANT}\u0000${id}`, 1);
    return limiter;
  }),
  latestCache100Points: await perEntry(async () => {
    const store = {
      latest: async (_tenant: string, id: string) => points(id),
    } as unknown as TelemetryStore;
    const cache = new LatestTelemetryCache(store, { clock: () => now, maxDevices: N });
    for (const id of ids) await cache.latest(TENANT, id, 100);
    return cache;
  }),
  // Sign-in: a failed attempt per key (tenant + username, or client address), then a full window of them.
  signInLimiterOneFailure: await perEntry(async () => {
    const limiter = new FailureLimiter({ limit: 5, windowMs: 15 * 60_000, clock: () => now });
    for (const id of ids) limiter.fail(`${TENANT}\u0000user-${id.slice(0, 8)}`);
    return limiter;
  }),
  signInLimiterFullWindow: await perEntry(async () => {
    const limiter = new FailureLimiter({ limit: 20, windowMs: 15 * 60_000, clock: () => now });
    for (const id of ids)
      for (let i = 0; i < 20; i++) limiter.fail(`10.${id.charCodeAt(0)}.${id.slice(0, 8)}`);
    return limiter;
  }),
};
process.stdout.write(JSON.stringify(sizes));
