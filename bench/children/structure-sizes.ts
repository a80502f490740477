// What each per-device (and per-sign-in, per-tenant) structure of the server holds in memory, in bytes
// per entry: each is filled the way the server fills it, for N entries, from a real SQLite store (the
// objects the server holds are the ones its stores return), and the heap measured before and after (after
// a full GC each time; run with --expose-gc). Beside each, the bytes the structure's own estimate counts
// against its share of FIREBRICK_CACHE_MEMORY_MIB: the estimate must not be below the heap, or the budget
// holds more than it says. Prints one JSON object. Used by bench/phases/growth.ts.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AlarmEvaluator } from "../../packages/server/src/alarms/evaluator.js";
import type { AlarmsStore } from "../../packages/server/src/alarms/types.js";
import { Connectivity } from "../../packages/server/src/devices/connectivity.js";
import { DeviceDirectory } from "../../packages/server/src/devices/directory.js";
import { FleetLimiter } from "../../packages/server/src/fleet/limiter.js";
import type { FleetRecords } from "../../packages/server/src/fleet/types.js";
import { openSqlite } from "../../packages/server/src/storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../../packages/server/src/storage/sqlite-migrations.js";
import { createSqliteStores } from "../../packages/server/src/stores/sqlite/index.js";
import type { Stores } from "../../packages/server/src/stores/types.js";
import { LatestTelemetryCache } from "../../packages/server/src/telemetry/latest-cache.js";
import { TenantDirectory } from "../../packages/server/src/tenancy/tenant-directory.js";
import { buildSqliteFixture } from "../lib/sqlite-fixture.js";

const N = Number(process.argv[2] ?? 10_000);
const TENANT = "demo";
const PLENTY = 2 ** 31;
const gc = (globalThis as { gc?: () => void }).gc!;
const now = Date.now();
const dirs: string[] = [];

/** Stores on a fresh SQLite file holding N devices of tenant demo with `points` points each. */
function storesWith(points: number): { stores: Stores; ids: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "firebrick-sizes-"));
  dirs.push(dir);
  const ids = buildSqliteFixture(dir, { devices: N, pointsPerDevice: points, auditEntries: 0 }).map(
    (device) => device.id,
  );
  return { stores: createSqliteStores(openSqlite(join(dir, "firebrick.sqlite"), SQLITE_MIGRATIONS)), ids };
}

/** Heap bytes per entry that `fill` adds (the structure kept alive while measuring), and its estimate. */
async function perEntry(fill: () => Promise<{ bytes: number }>): Promise<{ heap: number; estimate: number }> {
  gc();
  const before = process.memoryUsage().heapUsed;
  const structure = await fill();
  gc();
  const after = process.memoryUsage().heapUsed;
  return { heap: Math.round((after - before) / N), estimate: Math.round(structure.bytes / N) };
}

/** Records that accept every write: what the limiter then holds is what it holds in the server. */
const records: FleetRecords = {
  read: async () => null,
  write: async () => "1",
  delete: async () => {},
};

const hundred = storesWith(100);
const one = storesWith(1);

const tenants = await perEntry(async () => {
  const store = { get: async (id: string) => ({ id }) } as unknown as Stores["tenants"];
  const directory = new TenantDirectory(() => store, { maxBytes: PLENTY });
  for (const id of hundred.ids) await directory.exists(`t-${id.slice(0, 18)}`);
  return directory;
});
const directory = await perEntry(async () => {
  const directory = new DeviceDirectory(
    () => hundred.stores.devices,
    () => now,
    PLENTY,
  );
  for (const id of hundred.ids) await directory.get(TENANT, id);
  return { bytes: directory.held.bytes, directory };
});
const latest = (side: typeof one) =>
  perEntry(async () => {
    const cache = new LatestTelemetryCache(() => side.stores.telemetry, {
      clock: () => now,
      maxBytes: PLENTY,
    });
    for (const id of side.ids) await cache.latest(TENANT, id, 100);
    return cache;
  });
const latest100 = await latest(hundred);
const latest1 = await latest(one);
const limiter = await perEntry(async () => {
  const limiter = new FleetLimiter(records, { clock: () => now, maxBytes: PLENTY });
  const policy = { name: "device_writes", capacity: 5, windowMs: 60_000 };
  for (const id of hundred.ids) await limiter.charge(policy, `${TENANT}\u0000${id}`, 1);
  return limiter;
});
const connectivity = await perEntry(async () => {
  const connectivity = new Connectivity(() => hundred.stores.devices, {
    clock: () => now,
    offlineAfterMs: 5 * 60_000,
    maxBytes: PLENTY,
  });
  // Devices never seen: each one's first write records it (one store write, then held).
  for (const id of hundred.ids) {
    await connectivity.seen({ ...(await hundred.stores.devices.get(TENANT, id))!, last_seen_ms: null });
  }
  return connectivity;
});
const alarmRules = await perEntry(async () => {
  // Devices without rules, as most are: what the evaluator holds is that they have none.
  const alarms = { rulesForDevice: async () => [] } as unknown as AlarmsStore;
  const evaluator = new AlarmEvaluator(() => alarms, {
    clock: () => now,
    maxBytes: PLENTY,
    announce: async () => {},
  });
  for (const id of hundred.ids) await evaluator.rules(TENANT, id);
  return evaluator;
});
// Sign-in: one failure recorded per username record and per address record (the limiter's held copies).
const signIn = await perEntry(async () => {
  const limiter = new FleetLimiter(records, { clock: () => now, maxBytes: PLENTY });
  const policy = { name: "login_username", capacity: 5, windowMs: 15 * 60_000 };
  for (const id of hundred.ids) {
    await limiter.update(policy, `${TENANT}\u0000user-${id.slice(0, 8)}`, (buckets, at) => ({
      result: undefined,
      write: { ...buckets, total: { level: 1, at }, [`a:${id.slice(0, 16)}`]: { level: 1, at } },
    }));
  }
  return limiter;
});

for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
process.stdout.write(
  JSON.stringify({
    devices: N,
    deviceDirectory: directory,
    latestPoints100: latest100,
    latestPoints1: latest1,
    fleetLimiter: limiter,
    connectivity,
    alarmRules,
    tenants,
    signInRecord: signIn,
  }),
);
process.exit(0);
