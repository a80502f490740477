// What each per-device (and per-sign-in) structure of the server holds in memory, in bytes per entry:
// each is filled the way the server fills it, for N entries, and the heap measured before and after
// (after a full GC each time; run with --expose-gc). Beside each, the bytes the structure's own estimate
// counts against its share of FIREBRICK_CACHE_MEMORY_MIB. Prints one JSON object. Used by
// bench/phases/growth.ts.
import { randomUUID } from "node:crypto";
import { DeviceDirectory } from "../../packages/server/src/devices/directory.js";
import { FleetLimiter } from "../../packages/server/src/fleet/limiter.js";
import type { FleetRecords } from "../../packages/server/src/fleet/types.js";
import type {
  Device,
  DevicesStore,
  TelemetryPoint,
  TelemetryStore,
} from "../../packages/server/src/stores/types.js";
import { LatestTelemetryCache } from "../../packages/server/src/telemetry/latest-cache.js";

const N = Number(process.argv[2] ?? 10_000);
const TENANT = "demo";
const PLENTY = 2 ** 31;
const gc = (globalThis as { gc?: () => void }).gc!;
const ids = Array.from({ length: N }, () => randomUUID());
const now = Date.now();

/** Bytes per entry that `fill` adds to the heap (the structure is kept alive while measuring). */
async function perEntry<T>(fill: () => Promise<T>): Promise<{ heap: number; structure: T }> {
  gc();
  const before = process.memoryUsage().heapUsed;
  const structure = await fill();
  gc();
  const after = process.memoryUsage().heapUsed;
  return { heap: Math.round((after - before) / N), structure };
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
/** Records that accept every write: what the limiter then holds is what it holds in the server. */
const records: FleetRecords = {
  read: async () => null,
  write: async () => "1",
  delete: async () => {},
};

const directory = await perEntry(async () => {
  const store = { get: async (_tenant: string, id: string) => device(id) } as unknown as DevicesStore;
  const directory = new DeviceDirectory(
    () => store,
    () => now,
    PLENTY,
  );
  for (const id of ids) await directory.get(TENANT, id);
  return directory;
});
const limiter = await perEntry(async () => {
  const limiter = new FleetLimiter(records, { clock: () => now, maxBytes: PLENTY });
  const policy = { name: "device_writes", capacity: 5, windowMs: 60_000 };
  for (const id of ids) await limiter.charge(policy, `${TENANT}\u0000${id}`, 1);
  return limiter;
});
const latest = await perEntry(async () => {
  const store = {
    changes: async (_tenant: string, id: string) => ({
      points: points(id),
      mark: "firestore:1796000000000",
      reset: true,
    }),
  } as unknown as TelemetryStore;
  const cache = new LatestTelemetryCache(store, { clock: () => now, maxBytes: PLENTY });
  for (const id of ids) await cache.latest(TENANT, id, 100);
  return cache;
});
// Sign-in: one failure recorded per username record and per address record (the limiter's held copies).
const signIn = await perEntry(async () => {
  const limiter = new FleetLimiter(records, { clock: () => now, maxBytes: PLENTY });
  const policy = { name: "login_username", capacity: 5, windowMs: 15 * 60_000 };
  for (const id of ids) {
    await limiter.update(policy, `${TENANT}\u0000user-${id.slice(0, 8)}`, (buckets, at) => ({
      result: undefined,
      write: { ...buckets, total: { level: 1, at }, [`a:${id.slice(0, 16)}`]: { level: 1, at } },
    }));
  }
  return limiter;
});

process.stdout.write(
  JSON.stringify({
    devices: N,
    deviceDirectory: directory.heap,
    deviceDirectoryEstimate: Math.round(directory.structure.held.bytes / N),
    fleetLimiter: limiter.heap,
    latestCache100Points: latest.heap,
    latestCacheEstimate: Math.round(latest.structure.bytes / N),
    signInRecord: signIn.heap,
  }),
);
