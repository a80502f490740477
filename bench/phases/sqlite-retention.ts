import { statSync } from "node:fs";
import { join } from "node:path";
import { openSqlite, type SqliteDatabase } from "../../packages/server/src/storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../../packages/server/src/storage/sqlite-migrations.js";
import { createSqliteStores } from "../../packages/server/src/stores/sqlite/index.js";
import { sqliteRetentionTargets } from "../../packages/server/src/stores/sqlite/retention.js";
import { startRetentionJob } from "../../packages/server/src/stores/sqlite/retention-job.js";
import { TELEMETRY_RETENTION_MS } from "../../packages/server/src/stores/types.js";
import type { BenchContext, Phase } from "../lib/context.js";
import { type Figure, MiB, num, ratio, withRange } from "../lib/figure.js";
import { alternate, over, paired } from "../lib/paired.js";

const DAY = 24 * 3600_000;
/** Simulated ingest: devices, points per device per day (one every 15 min), days (retention is 90). */
const DEVICES = 50;
const POINTS_PER_DAY = 96;
const DAYS = 150;

const fileBytes = (file: string) => statSync(file).size;

/**
 * `DAYS` days of ingest through the SQLite telemetry store with a simulated clock, the retention job run
 * once a simulated day (as the server runs it, minus the lock) or never: the file size at day 90, 120 and
 * 150. With retention the file stops growing once the oldest points expire (day 90); without, it grows
 * with every point.
 */
async function simulate(bench: BenchContext, retention: boolean) {
  const file = join(bench.tempDir(retention ? "retention" : "no-retention"), "firebrick.sqlite");
  const db = openSqlite(file, SQLITE_MIGRATIONS);
  const start = Date.UTC(2026, 0, 1);
  let now = start;
  const stores = createSqliteStores(db, { clock: () => now });
  const job = startRetentionJob(
    { targets: sqliteRetentionTargets(db), runExclusive: (task) => task({ fence: null }), clock: () => now },
    false,
  );
  const sizes: Record<number, number> = {};
  let deleted = 0;
  let jobMs = 0;
  for (let day = 1; day <= DAYS; day++) {
    now = start + day * DAY;
    await Promise.all(
      Array.from({ length: DEVICES }, (_, d) =>
        stores.telemetry.append(
          "demo",
          `00000000-0000-4000-8000-${String(d).padStart(12, "0")}`,
          Array.from({ length: POINTS_PER_DAY }, (_, i) => ({
            timestamp_ms: now - DAY + (i * DAY) / POINTS_PER_DAY,
            metrics: { zone_temp_c: 21 + (i % 10) / 10, co2_ppm: 400 + i },
          })),
        ),
      ),
    );
    if (retention) {
      const t0 = performance.now();
      deleted += (await job.runOnce()).telemetry ?? 0;
      jobMs += performance.now() - t0;
    }
    if (day % 30 === 0) {
      db.pragma("wal_checkpoint(TRUNCATE)");
      sizes[day] = fileBytes(file);
    }
  }
  db.close();
  return { sizes, deleted, jobMs };
}

/** A raw insert loop (1 or 50 points a transaction) on the schema with or without telemetry_by_expiry. */
function rawInserts(bench: BenchContext, withIndex: boolean, pointsPerTransaction: number) {
  const file = join(bench.tempDir(withIndex ? "index" : "no-index"), "firebrick.sqlite");
  const db: SqliteDatabase = openSqlite(file, SQLITE_MIGRATIONS);
  bench.defer(() => db.close());
  if (withIndex) db.exec("CREATE INDEX telemetry_by_expiry ON telemetry (expire_at)");
  const upsert = db.prepare(
    "INSERT OR REPLACE INTO telemetry (tenant_id, device_id, timestamp_ms, metrics, source, expire_at) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const write = db.transaction((device: string, first: number) => {
    for (let j = 0; j < pointsPerTransaction; j++) {
      const t = first + j;
      upsert.run(
        "demo",
        device,
        t,
        JSON.stringify({ zone_temp_c: 21, co2_ppm: 450 + j }),
        "api",
        t + TELEMETRY_RETENTION_MS,
      );
    }
  }).immediate;
  const base = Date.now() - 3_600_000;
  let sequence = 0;
  return async () => {
    // WAL bytes per point: the WAL is checkpointed and restarted before the round, not during it.
    db.pragma("wal_checkpoint(TRUNCATE)");
    db.pragma("wal_autocheckpoint = 0");
    const rowsBefore = sequence * pointsPerTransaction;
    const t0 = performance.now();
    // A tight loop in this process: a second per side and round is plenty.
    const deadline = t0 + Math.min(bench.seconds, 1) * 1000;
    while (performance.now() < deadline) {
      const n = sequence++;
      write(`device-${n % 1000}`, base + Math.floor(n / 1000) * pointsPerTransaction);
    }
    const seconds = (performance.now() - t0) / 1000;
    const points = sequence * pointsPerTransaction - rowsBefore;
    const walBytes = fileBytes(`${file}-wal`);
    db.pragma("wal_checkpoint(TRUNCATE)");
    return {
      rate: points / seconds,
      walBytesPerPoint: walBytes / points,
      fileBytesPerPoint: fileBytes(file) / (sequence * pointsPerTransaction),
    };
  };
}

/**
 * Retention on SQLite, and the index it made unnecessary: the file size at steady state (simulated days),
 * and raw insert throughput and bytes per point with and without `telemetry_by_expiry` (rounds
 * alternated, lib/paired.ts).
 */
export const sqliteRetentionPhase: Phase = {
  name: "sqlite-retention",
  title: `SQLite file size over ${DAYS} simulated days with and without retention; the expiry index's cost`,
  async run(bench) {
    const figures: Figure[] = [];
    bench.log(
      `${DAYS} simulated days of ${num(DEVICES * POINTS_PER_DAY)} points a day, with and without the job…`,
    );
    const kept = await simulate(bench, true);
    const unkept = await simulate(bench, false);
    const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
    const growth = kept.sizes[DAYS]! / kept.sizes[120]!;
    figures.push({
      what: `SQLite file after ${DAYS} days of ingest (${num(DEVICES * POINTS_PER_DAY)} points/day, retention ${TELEMETRY_RETENTION_MS / DAY} d)`,
      measured: `${mib(kept.sizes[DAYS]!)} (day 90: ${mib(kept.sizes[90]!)}, day 120: ${mib(kept.sizes[120]!)}); ${num(kept.deleted)} points deleted in ${num(kept.jobMs)} ms of job`,
      baseline: `no retention: ${mib(unkept.sizes[DAYS]!)} (day 90: ${mib(unkept.sizes[90]!)}, day 120: ${mib(unkept.sizes[120]!)})`,
      ratio: `day ${DAYS} / day 120: ${growth.toFixed(2)}× (no retention: ${(unkept.sizes[DAYS]! / unkept.sizes[120]!).toFixed(2)}×)`,
      target: "stops growing at steady state (≤ 1.05×)",
      met: growth <= 1.05,
    });

    for (const points of [1, 50]) {
      bench.log(`raw inserts, ${points} point(s)/transaction, with and without telemetry_by_expiry…`);
      const rounds = await alternate(
        { without: rawInserts(bench, false, points), with: rawInserts(bench, true, points) },
        { rounds: bench.rounds, warmup: 1 },
      );
      const rate = (r: { rate: number }) => r.rate;
      const wal = (r: { walBytesPerPoint: number }) => r.walBytesPerPoint;
      const stored = (r: { fileBytesPerPoint: number }) => r.fileBytesPerPoint;
      figures.push({
        what: `raw inserts without telemetry_by_expiry (dropped), ${points} point${points === 1 ? "" : "s"}/transaction`,
        measured: `${withRange(over(rounds.without, rate), "points/s")}; WAL ${withRange(over(rounds.without, wal), "B")}/point, file ${withRange(over(rounds.without, stored), "B")}/point`,
        baseline: `with it: ${withRange(over(rounds.with, rate), "points/s")}; WAL ${withRange(over(rounds.with, wal), "B")}/point, file ${withRange(over(rounds.with, stored), "B")}/point`,
        ratio: `throughput ${ratio(paired(rounds.without, rounds.with, rate))}; WAL bytes ${ratio(paired(rounds.without, rounds.with, wal))}`,
        target: "(why it went)",
        met: null,
      });
    }
    return figures;
  },
};
