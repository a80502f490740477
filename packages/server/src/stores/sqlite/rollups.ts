import type { Statement } from "better-sqlite3";
import type { SqliteDatabase } from "../../storage/sqlite.js";
import { type SlotStats, slotStatsOf } from "../rollups/slots.js";
import type { RollupStats } from "../rollups/stats.js";
import { ROLLUP_RETENTION_MS } from "../types.js";

/**
 * The SQLite side of trend rollups (docs/design/trends.md): one row per device, five-minute slot and
 * metric in `telemetry_rollups`, written in the same transaction as the points they summarise, so that
 * they can never disagree with them (a crash loses both or neither).
 */
export type SqliteRollupRow = RollupStats & { slot_ms: number; metric: string };

const STATS_COLUMNS = "count, sum, min, max, first, first_ms, last, last_ms";

/**
 * Adds stats to a rollup row of `table` keyed (tenant_id, device_id, `time`, metric), creating it:
 * every statistic combines without reading the row first (the SQL of `combineStats`, rollups/stats.ts).
 * Parameters: tenant, device, time, metric, the stats (`statsColumns`), expire_at.
 */
export function combiningUpsert(table: string, time: string): string {
  return `INSERT INTO ${table} (tenant_id, device_id, ${time}, metric, ${STATS_COLUMNS}, expire_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET count = count + excluded.count, sum = sum + excluded.sum,
         min = min(min, excluded.min), max = max(max, excluded.max),
         first = CASE WHEN excluded.first_ms < first_ms THEN excluded.first ELSE first END,
         first_ms = min(first_ms, excluded.first_ms),
         last = CASE WHEN excluded.last_ms > last_ms THEN excluded.last ELSE last END,
         last_ms = max(last_ms, excluded.last_ms)`;
}

export class SqliteRollups {
  readonly #add;
  readonly #put;
  readonly #clearSlots;
  readonly #points;
  readonly #rows;
  readonly #hours;
  #hoursStatement: Statement<[string, string, number, number], SqliteRollupRow> | undefined;

  constructor(db: SqliteDatabase) {
    // Adding disjoint points to a slot: every statistic combines without reading the row first.
    this.#add = db.prepare(combiningUpsert("telemetry_rollups", "slot_ms"));
    this.#put = db.prepare(
      `INSERT INTO telemetry_rollups (tenant_id, device_id, slot_ms, metric, ${STATS_COLUMNS}, expire_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#clearSlots = db.prepare<[string, string, number, number]>(
      "DELETE FROM telemetry_rollups WHERE tenant_id = ? AND device_id = ? AND slot_ms >= ? AND slot_ms < ?",
    );
    this.#points = db.prepare<[string, string, number, number], { timestamp_ms: number; metrics: string }>(
      `SELECT timestamp_ms, metrics FROM telemetry
       WHERE tenant_id = ? AND device_id = ? AND timestamp_ms >= ? AND timestamp_ms < ?`,
    );
    this.#rows = db.prepare<[string, string, number, number], SqliteRollupRow>(
      `SELECT slot_ms, metric, ${STATS_COLUMNS} FROM telemetry_rollups
       WHERE tenant_id = ? AND device_id = ? AND slot_ms >= ? AND slot_ms < ? ORDER BY slot_ms`,
    );
    // Prepared on first use: migration 54 builds rollups with this class before migration 57 made the table.
    this.#hours = () =>
      (this.#hoursStatement ??= db.prepare<[string, string, number, number], SqliteRollupRow>(
        `SELECT start_ms AS slot_ms, metric, ${STATS_COLUMNS} FROM telemetry_rollup_hours
         WHERE tenant_id = ? AND device_id = ? AND start_ms >= ? AND start_ms < ? ORDER BY start_ms`,
      ));
  }

  /** Adds the rollups of points new to their slots (inside the caller's transaction). */
  add(tenant: string, deviceId: string, slots: SlotStats): number {
    return this.#write(this.#add, tenant, deviceId, slots);
  }

  /**
   * Recomputes slots [from, to) from the device's stored points (inside the caller's transaction):
   * what an overwrite needs (a replaced minimum cannot be subtracted) and what a rebuild is. Returns
   * the points read. Points past retention but not yet deleted still count, as they did when written.
   */
  recompute(tenant: string, deviceId: string, from: number, to: number): number {
    let read = 0;
    const points = (function* (rows: Iterable<{ timestamp_ms: number; metrics: string }>) {
      for (const row of rows) {
        read += 1;
        yield { timestamp_ms: row.timestamp_ms, metrics: JSON.parse(row.metrics) as Record<string, number> };
      }
    })(this.#points.iterate(tenant, deviceId, from, to));
    // The statement's cursor must be closed before the writes: collect the slots first.
    const slots = slotStatsOf(points);
    this.#clearSlots.run(tenant, deviceId, from, to);
    this.#write(this.#put, tenant, deviceId, slots);
    return read;
  }

  /** The device's stored slots in [from, to), oldest first. */
  rows(tenant: string, deviceId: string, from: number, to: number): SqliteRollupRow[] {
    return this.#rows.all(tenant, deviceId, from, to);
  }

  /**
   * The device's hour cells (slots compacted after raw retention, rollup-compaction.ts) starting in
   * [from, to), oldest first; `slot_ms` is the cell's start.
   */
  hourRows(tenant: string, deviceId: string, from: number, to: number): SqliteRollupRow[] {
    return this.#hours().all(tenant, deviceId, from, to);
  }

  #write(
    statement: { run(...parameters: unknown[]): unknown },
    tenant: string,
    deviceId: string,
    slots: SlotStats,
  ): number {
    let rows = 0;
    for (const [slot, metrics] of slots) {
      for (const [metric, s] of metrics) {
        statement.run(tenant, deviceId, slot, metric, ...statsColumns(s), slot + ROLLUP_RETENTION_MS);
        rows += 1;
      }
    }
    return rows;
  }
}

export function statsColumns(s: RollupStats): number[] {
  return [s.count, s.sum, s.min, s.max, s.first, s.first_ms, s.last, s.last_ms];
}

/** Builds the rollups of every point already stored, device by device (schema migration 3). */
export function rollUpStoredPoints(db: SqliteDatabase): void {
  const rollups = new SqliteRollups(db);
  const devices = db
    .prepare<[], { tenant_id: string; device_id: string }>(
      "SELECT DISTINCT tenant_id, device_id FROM telemetry",
    )
    .all();
  for (const { tenant_id, device_id } of devices) {
    rollups.recompute(tenant_id, device_id, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  }
}
