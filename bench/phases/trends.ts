import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { openSqlite } from "../../packages/server/src/storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../../packages/server/src/storage/sqlite-migrations.js";
import {
  createFirestoreRollupMaintenance,
  createFirestoreStores,
} from "../../packages/server/src/stores/firestore/index.js";
import {
  type AggregateQuery,
  TELEMETRY_RETENTION_MS,
  type TelemetryStore,
} from "../../packages/server/src/stores/types.js";
import { UsageTally } from "../../packages/server/src/stores/usage.js";
import type { BenchContext, Phase } from "../lib/context.js";
import { type Figure, MiB, num } from "../lib/figure.js";
import { HEADER, login, startServerProcess, TENANT, USER_AGENT } from "../server-process.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Reads billed to trend rollups (the `rollups` area) and to raw telemetry, since the last reset. */
function readsOf(tally: UsageTally) {
  let rollups = 0;
  let telemetry = 0;
  for (const [key, usage] of tally.byArea) {
    if (key.endsWith(":rollups")) rollups += usage.reads;
    if (key.endsWith(":telemetry")) telemetry += usage.reads;
  }
  return { rollups, telemetry };
}

function writesOf(tally: UsageTally) {
  let rollups = 0;
  let telemetry = 0;
  for (const [key, usage] of tally.byArea) {
    if (key.endsWith(":rollups")) rollups += usage.writes;
    if (key.endsWith(":telemetry")) telemetry += usage.writes;
  }
  return { rollups, telemetry };
}

/** What the naive way bills: every raw point of the range read (one read a document), page by page. */
async function rawReads(
  telemetry: TelemetryStore,
  tally: UsageTally,
  device: string,
  range: { from: number; to: number },
) {
  tally.reset();
  let cursor: string | null = null;
  let points = 0;
  do {
    const page = await telemetry.windowAscending("bench", device, { ...range, limit: 1000, cursor });
    points += page.items.length;
    cursor = page.next_cursor;
  } while (cursor);
  return { reads: readsOf(tally).telemetry, points };
}

/**
 * Trend read costs on Firestore (in process, the stores' usage tally, a clock the bench sets): a device
 * with 90 days of history at one point every 5 minutes, its quiet days folded into months as the
 * server's maintenance job does, then the dashboard's three long ranges — each beside the naive cost of
 * reading the range's raw points.
 */
async function readCosts(bench: BenchContext): Promise<Figure[]> {
  const db = await bench.firestore(bench.projectId("trends"));
  const tally = new UsageTally();
  const now = Math.floor(Date.now() / HOUR) * HOUR;
  const clock = { now };
  const stores = createFirestoreStores(db, { clock: () => clock.now, usage: tally });
  const telemetry = stores.telemetry;
  const device = randomUUID();
  const start = now - 90 * DAY;
  const pointsPerDay = DAY / (5 * MINUTE);
  bench.log(`trends: writing 90 days × ${pointsPerDay} points (2 metrics) to Firestore`);
  // A day's points per request, 4 requests in flight.
  const days = Array.from({ length: 90 }, (_, day) => day);
  while (days.length > 0) {
    await Promise.all(
      days.splice(0, 4).map((day) =>
        telemetry.append(
          "bench",
          device,
          Array.from({ length: pointsPerDay }, (_, i) => {
            const t = start + day * DAY + i * 5 * MINUTE;
            return { timestamp_ms: t, metrics: { zone_temp_c: 21 + (i % 13) / 10, damper_pct: 4 + (i % 4) } };
          }),
        ),
      ),
    );
  }
  await telemetry.flush();
  const ranges: Array<{ what: string; query: AggregateQuery; target: number }> = [
    {
      what: "24 h at 5 min",
      query: { from: now - DAY, to: now, interval: "5m", timeZone: "UTC" },
      target: 25,
    },
    {
      what: "7 days at 1 h",
      query: { from: now - 7 * DAY, to: now, interval: "1h", timeZone: "UTC" },
      target: 8,
    },
    {
      what: "90 days at 1 d (Europe/Paris)",
      query: { from: now - 90 * DAY, to: now, interval: "1d", timeZone: "Europe/Paris" },
      target: 10,
    },
  ];
  const unfolded = new Map<string, number>();
  for (const range of ranges) {
    tally.reset();
    await telemetry.aggregate("bench", device, range.query);
    unfolded.set(range.what, readsOf(tally).rollups);
  }
  // The server's maintenance job, run as it would be once the days are quiet (every minute, under a lock).
  const maintenance = createFirestoreRollupMaintenance(db, {
    clock: () => clock.now,
    timeZoneOf: async () => ({ timeZone: "Europe/Paris", timeZoneSince: 0 }),
  });
  clock.now = now + 11 * MINUTE;
  for (let run = 0; run < 3; run += 1) await maintenance.runOnce();
  const figures: Figure[] = [];
  for (const range of ranges) {
    tally.reset();
    const buckets = await telemetry.aggregate("bench", device, range.query);
    const reads = readsOf(tally).rollups;
    const naive = await rawReads(telemetry, tally, device, range.query);
    figures.push({
      what: `billed reads of a trend query, ${range.what} (${buckets.length} buckets, Firestore)`,
      measured: `${reads} (before the days are folded into months: ${unfolded.get(range.what)})`,
      baseline: `raw points of the range ${num(naive.reads)} (${num(naive.points)} points at 1 / 5 min)`,
      ratio: `${(reads / naive.reads).toFixed(4)}×`,
      target: `≤ ${range.target} reads`,
      met: reads <= range.target,
    });
  }
  return figures;
}

/**
 * Rollup writes on Firestore: a device at the default pace (1 point / 12 s, one commit holds the point and
 * its day document), and a fast device (the demo's 600 points a minute, 10 requests a second on the real
 * clock), whose updates are merged to at most one write per second per day document.
 */
async function writeCosts(bench: BenchContext): Promise<Figure[]> {
  const db = await bench.firestore(bench.projectId("trend-writes"));
  const tally = new UsageTally();
  const offset = { ms: 0 };
  const stores = createFirestoreStores(db, { clock: () => Date.now() + offset.ms, usage: tally });
  const telemetry = stores.telemetry;
  const figures: Figure[] = [];

  const paced = randomUUID();
  const requests = 50;
  tally.reset();
  for (let i = 0; i < requests; i += 1) {
    offset.ms += 12_000;
    const t = Date.now() + offset.ms - 1000;
    await telemetry.append("bench", paced, [{ timestamp_ms: t, metrics: { zone_temp_c: 21 + i / 10 } }]);
  }
  await telemetry.flush();
  const pacedWrites = writesOf(tally);
  figures.push({
    what: "billed rollup writes per telemetry request, a device at the default pace (1 point / 12 s)",
    measured: `${(pacedWrites.rollups / requests).toFixed(2)} (${pacedWrites.rollups} over ${requests} requests; points ${pacedWrites.telemetry})`,
    baseline: "1 point write a request",
    ratio: `${(pacedWrites.rollups / pacedWrites.telemetry).toFixed(2)}×`,
    target: "≤ 1 per request",
    met: pacedWrites.rollups <= requests,
  });

  // The fast device on the real clock: 10 requests of one point a second for 10 s.
  offset.ms = 0;
  const fast = randomUUID();
  const seconds = 10;
  tally.reset();
  const began = Date.now();
  let sent = 0;
  while (Date.now() - began < seconds * 1000) {
    const t = Date.now() - 1000;
    await telemetry.append("bench", fast, [
      { timestamp_ms: t + (sent % 100), metrics: { damper_pct: sent % 7 } },
    ]);
    sent += 1;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await telemetry.flush();
  const elapsed = (Date.now() - began) / 1000;
  const fastWrites = writesOf(tally);
  // Rollup writes are the one day document's updates, plus its intent: created once while the device is
  // fast (renewed every 2.5 min), deleted once it is quiet.
  const dayWrites = Math.max(0, fastWrites.rollups - 2);
  figures.push({
    what: `rollup writes of a fast device (${sent} one-point requests in ${elapsed.toFixed(1)} s, ~600 points/min)`,
    measured: `${fastWrites.rollups}: day document ≤ ${dayWrites} (${(dayWrites / elapsed).toFixed(2)} a second) + intent created and deleted`,
    baseline: `${sent} if every request wrote its day document`,
    ratio: `${(fastWrites.rollups / sent).toFixed(2)}×`,
    target: "≤ ~1 write/s per document (Firestore's sustained limit)",
    met: dayWrites / elapsed <= 1.15,
  });
  return figures;
}

/**
 * A data dir whose SQLite file holds `points` points of one device (5 s apart, the newest a minute ago),
 * written straight into the telemetry table as `bench/lib/sqlite-fixture.ts` does.
 */
function exportFixture(dataDir: string, points: number): string {
  const db = openSqlite(join(dataDir, "firebrick.sqlite"), SQLITE_MIGRATIONS);
  db.pragma("synchronous = OFF");
  const device = randomUUID();
  const now = Date.now();
  db.prepare(
    "INSERT INTO devices (id, tenant_id, name, token_hash, created_at, token_rotated_at) VALUES (?, ?, 'AHU', ?, ?, ?)",
  ).run(device, TENANT, randomUUID(), now, now);
  const insert = db.prepare(
    "INSERT INTO telemetry (tenant_id, device_id, timestamp_ms, metrics, source, expire_at) VALUES (?, ?, ?, ?, 'api', ?)",
  );
  const batch = db.transaction((from: number) => {
    for (let i = from; i < Math.min(points, from + 50_000); i += 1) {
      const t = now - MINUTE - (points - i) * 5000;
      insert.run(
        TENANT,
        device,
        t,
        JSON.stringify({ zone_temp_c: 21 + (i % 13) / 10, co2_ppm: 450 + (i % 50) }),
        t + TELEMETRY_RETENTION_MS,
      );
    }
  });
  for (let from = 0; from < points; from += 50_000) batch(from);
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  return device;
}

const EXPORT_HEAP_MIB = 96;

/** Exports the device's whole history as CSV through `firebrick serve`, sampling the server's RSS. */
async function exportOnce(bench: BenchContext, points: number) {
  const dataDir = bench.tempDir(`export-${points}`);
  const device = exportFixture(dataDir, points);
  // A small heap: an export that held its rows (1 M points ≈ 46 MiB of CSV, far more as objects) fails.
  const server = await startServerProcess({ dataDir, nodeArgs: [`--max-old-space-size=${EXPORT_HEAP_MIB}`] });
  bench.defer(() => server.stop());
  try {
    const cookie = await login(server.url, "admin", server.adminPassword!);
    const idle = server.memory().rss;
    let peak = idle;
    const sampler = setInterval(() => {
      peak = Math.max(peak, server.memory().rss);
    }, 50);
    const began = performance.now();
    const response = await fetch(
      `${server.url}/api/devices/${device}/telemetry.csv?from=0&to=${Date.now()}&metrics=zone_temp_c,co2_ppm`,
      { headers: { [HEADER]: TENANT, "user-agent": USER_AGENT, cookie } },
    );
    if (response.status !== 200) throw new Error(`export: ${response.status} ${await response.text()}`);
    let bytes = 0;
    let newlines = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.byteLength;
      for (const byte of chunk) if (byte === 10) newlines += 1;
    }
    clearInterval(sampler);
    peak = Math.max(peak, server.memory().rss);
    if (newlines !== points + 1) throw new Error(`export: ${newlines - 1} rows for ${points} points`);
    return { idle, peak, bytes, seconds: (performance.now() - began) / 1000 };
  } finally {
    await server.stop();
  }
}

/** Memory of the CSV export on SQLite: 1 M points against 100 k; flat means the peak does not grow. */
async function exportMemory(bench: BenchContext): Promise<Figure[]> {
  bench.log("trends: CSV export of 100 k and 1 M points (SQLite)");
  const small = await exportOnce(bench, 100_000);
  const large = await exportOnce(bench, 1_000_000);
  const growth = (large.peak - large.idle) / Math.max(1, small.peak - small.idle);
  return [
    {
      what: "server RSS while exporting 1 M points as CSV (SQLite, streamed page by page)",
      measured: `peak ${num(large.peak / MiB)} MiB (idle ${num(large.idle / MiB)} MiB); ${num(large.bytes / MiB)} MiB of CSV in ${large.seconds.toFixed(1)} s`,
      baseline: `100 k points: peak ${num(small.peak / MiB)} MiB (idle ${num(small.idle / MiB)} MiB), ${num(small.bytes / MiB)} MiB of CSV`,
      ratio: `growth over idle ${growth.toFixed(2)}× for 10× the points`,
      // Held as objects, 1 M points would need several hundred MiB: the heap cap alone fails such a server.
      target: `flat: within a ${EXPORT_HEAP_MIB} MiB heap, 10× the points ≤ 2× the growth`,
      met: growth <= 2,
    },
  ];
}

export const trendsPhase: Phase = {
  name: "trends",
  title: "trend read costs vs raw points, rollup writes (Firestore); CSV export memory (SQLite)",
  async run(bench) {
    return [...(await readCosts(bench)), ...(await writeCosts(bench)), ...(await exportMemory(bench))];
  },
};
