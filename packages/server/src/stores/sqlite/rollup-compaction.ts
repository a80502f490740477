import type { SqliteDatabase } from "../../storage/sqlite.js";
import { DAY_MS, dayStartIn, HOUR_MS, nextDayStartIn } from "../rollups/buckets.js";
import { combineStats, type RollupStats } from "../rollups/stats.js";
import { ROLLUP_RETENTION_MS, TELEMETRY_RETENTION_MS } from "../types.js";
import { DEVICES_PER_BATCH, deviceWalk } from "./device-walk.js";
import type { RetentionTarget } from "./retention.js";
import { combiningUpsert, type SqliteRollupRow, statsColumns } from "./rollups.js";

/**
 * Five-minute slots are kept while their raw points are (90 days), and a day more: past that no point
 * can be rewritten (the write route refuses points older than raw retention, and a rollup rebuild
 * leaves days past it alone), so no slot is recomputed from raw points once compacted.
 */
export const COMPACT_AFTER_MS = TELEMETRY_RETENTION_MS + DAY_MS;

/** Rows compacted per batch are the job's batch size divided by this (see `rollupCompaction`). */
const COST_OF_A_ROW = 4;

/**
 * Compacts five-minute rollup slots older than `COMPACT_AFTER_MS` into hour cells
 * (`telemetry_rollup_hours`, docs/design/trends.md), as a target of the SQLite retention job: the slots
 * are deleted, their stats folded into the cells (combined with what a cell holds already, so a batch
 * may stop anywhere, and a late slot is folded in later). At one point per device every 15 minutes,
 * the rollups kept two years then grow by a quarter of the rows they did, and `1h` and `1d` trends stay
 * exact; `5m` and `15m` buckets of compacted hours are no longer answered (left out, as empty ones are).
 *
 * A cell is the UTC hour, cut at the tenant's local midnight where that falls inside it (zones offset by
 * 30 or 45 minutes), so that it lies wholly inside one hour bucket and one local day of the tenant's zone
 * as set when the hour was compacted.
 */
export function rollupCompaction(db: SqliteDatabase): RetentionTarget {
  const devices = deviceWalk(db, "telemetry_rollups");
  // At most about `limit` rows of a device per batch: the slot of its limit-th oldest old row bounds the
  // range taken (all metrics of that slot with it).
  const limitBound = db
    .prepare<[string, string, number, number], number>(
      `SELECT slot_ms FROM telemetry_rollups WHERE tenant_id = ? AND device_id = ? AND slot_ms < ?
       ORDER BY slot_ms ASC LIMIT 1 OFFSET ?`,
    )
    .pluck();
  const slotsUpTo = db.prepare<[string, string, number], SqliteRollupRow>(
    `SELECT slot_ms, metric, count, sum, min, max, first, first_ms, last, last_ms FROM telemetry_rollups
     WHERE tenant_id = ? AND device_id = ? AND slot_ms <= ?`,
  );
  const removeUpTo = db.prepare<[string, string, number]>(
    "DELETE FROM telemetry_rollups WHERE tenant_id = ? AND device_id = ? AND slot_ms <= ?",
  );
  const addToCell = db.prepare(combiningUpsert("telemetry_rollup_hours", "start_ms"));
  const zoneOf = db.prepare<[string], string>("SELECT time_zone FROM tenants WHERE id = ?").pluck();

  const batch = db.transaction((now: number, limit: number) => {
    const before = Math.floor((now - COMPACT_AFTER_MS) / HOUR_MS) * HOUR_MS;
    let moved = 0;
    for (let visited = 0; visited < DEVICES_PER_BATCH && moved < limit; visited++) {
      const device = devices.next();
      if (!device) return { deleted: moved, done: true };
      const { tenant_id, device_id } = device;
      const left = limit - moved;
      const bound = limitBound.get(tenant_id, device_id, before, left - 1) ?? before - 1;
      const rows = slotsUpTo.all(tenant_id, device_id, bound);
      if (rows.length > 0) {
        const cellOf = cellStarts(zoneOf.get(tenant_id) ?? "UTC");
        const cells = new Map<string, { start: number; metric: string; stats: RollupStats }>();
        for (const { slot_ms, metric, ...stats } of rows) {
          const start = cellOf(slot_ms);
          const key = `${start}\u0000${metric}`;
          const held = cells.get(key);
          cells.set(key, { start, metric, stats: held ? combineStats(held.stats, stats) : stats });
        }
        for (const { start, metric, stats } of cells.values()) {
          addToCell.run(
            tenant_id,
            device_id,
            start,
            metric,
            ...statsColumns(stats),
            start + ROLLUP_RETENTION_MS,
          );
        }
        removeUpTo.run(tenant_id, device_id, bound);
        moved += rows.length;
      }
      // A device with more old slots than this batch had room for is visited again next batch.
      if (rows.length < left) devices.finished(device);
    }
    return { deleted: moved, done: false };
  });
  // A row compacted costs about six deleted ones (read, fold, upsert, delete: ≈ 12 µs against 2 µs), so a
  // batch takes a quarter of the job's limit, to hold the database (and the event loop) about as briefly.
  return {
    table: "telemetry_rollups",
    deleteExpired: (now, limit) => batch.immediate(now, Math.max(1, Math.floor(limit / COST_OF_A_ROW))),
  };
}

/**
 * The start of the cell a slot goes into, in `zone`: its hour, or the local midnight inside that hour.
 * Slots come oldest first, so the zone's local day is looked up (`Intl`, the costly part) once a day.
 */
function cellStarts(zone: string): (slot: number) => number {
  let dayStart = Number.POSITIVE_INFINITY;
  let nextDay = Number.NEGATIVE_INFINITY;
  return (slot) => {
    const hour = Math.floor(slot / HOUR_MS) * HOUR_MS;
    if (hour < dayStart || hour >= nextDay) {
      dayStart = dayStartIn(hour, zone);
      nextDay = nextDayStartIn(dayStart, zone);
    }
    // The day began at or before this hour; the next one may begin inside it (a 30/45-minute zone).
    const midnight = nextDay < hour + HOUR_MS ? nextDay : hour;
    return slot >= midnight ? midnight : hour;
  };
}
