import type { SqliteDatabase } from "../../storage/sqlite.js";
import { ROLLUP_RETENTION_MS, TELEMETRY_RETENTION_MS } from "../types.js";
import { DEVICES_PER_BATCH, deviceWalk } from "./device-walk.js";
import { rollupCompaction } from "./rollup-compaction.js";

/**
 * One SQLite table whose rows expire (SQLite has no TTL; Firestore's TTL policies do this there). The
 * retention job (retention-job.ts) calls `deleteExpired` batch after batch; a new table with a
 * retention (rollups) is one more target in `sqliteRetentionTargets`.
 */
export interface RetentionTarget {
  /** The table, as the job reports its counts. */
  table: string;
  /**
   * Deletes at most `limit` rows past their retention at `now`, in one transaction. `done` once a pass
   * over the table is complete (the next call starts a new one).
   */
  deleteExpired(now: number, limit: number): { deleted: number; done: boolean };
}

/** Every SQLite table with a retention, in the order the job visits them. */
export function sqliteRetentionTargets(db: SqliteDatabase): RetentionTarget[] {
  return [
    deviceRangeRetention(db, {
      table: "telemetry",
      time: "timestamp_ms",
      retentionMs: TELEMETRY_RETENTION_MS,
    }),
    // Trend rollups (docs/design/trends.md): five-minute slots past raw retention become hour cells,
    // which are kept two years after their start, keyed the same way.
    rollupCompaction(db),
    deviceRangeRetention(db, {
      table: "telemetry_rollup_hours",
      time: "start_ms",
      retentionMs: ROLLUP_RETENTION_MS,
    }),
    auditRetention(db),
  ];
}

/**
 * A table keyed (tenant_id, device_id, <time>, …) whose rows expire `retentionMs` after their time —
 * telemetry (`expire_at` is always `timestamp_ms + TELEMETRY_RETENTION_MS`) and its rollups — walked
 * device by device along the primary key (`deviceWalk`): a device's expired rows are one contiguous key
 * range, deleted by a range scan. No index on `expire_at` is needed for this (migration 2 dropped
 * telemetry's).
 */
function deviceRangeRetention(
  db: SqliteDatabase,
  target: { table: string; time: string; retentionMs: number },
): RetentionTarget {
  const { table, time, retentionMs } = target;
  const devices = deviceWalk(db, table);
  // At most `limit` rows of a device per statement: the time of its limit-th oldest expired row bounds a
  // plain range delete (a DELETE … ORDER BY … LIMIT collects the keys first, 3× slower).
  const limitBound = db
    .prepare<[string, string, number, number], number>(
      `SELECT ${time} FROM ${table} WHERE tenant_id = ? AND device_id = ? AND ${time} <= ?
       ORDER BY ${time} ASC LIMIT 1 OFFSET ?`,
    )
    .pluck();
  // expire_at is checked too, so that the range scan never deletes a row that has not expired.
  const removeExpired = db.prepare<[string, string, number, number]>(
    `DELETE FROM ${table} WHERE tenant_id = ? AND device_id = ? AND ${time} <= ? AND expire_at <= ?`,
  );
  const batch = db.transaction((now: number, limit: number) => {
    let deleted = 0;
    for (let visited = 0; visited < DEVICES_PER_BATCH && deleted < limit; visited++) {
      const device = devices.next();
      if (!device) return { deleted, done: true };
      const left = limit - deleted;
      const cutoff = now - retentionMs;
      const bound = limitBound.get(device.tenant_id, device.device_id, cutoff, left - 1) ?? cutoff;
      const { changes } = removeExpired.run(device.tenant_id, device.device_id, bound, now);
      deleted += changes;
      // A device with more expired points than this batch had room for is visited again next batch.
      if (changes < left) devices.finished(device);
    }
    return { deleted, done: false };
  });
  return { table, deleteExpired: (now, limit) => batch.immediate(now, limit) };
}

/** The audit log, oldest expiry first along `audit_by_expiry` (appends are rare: the index is cheap). */
function auditRetention(db: SqliteDatabase): RetentionTarget {
  const removeExpired = db.prepare<[number, number]>(
    `DELETE FROM audit_log WHERE rowid IN
       (SELECT rowid FROM audit_log INDEXED BY audit_by_expiry WHERE expire_at <= ? LIMIT ?)`,
  );
  return {
    table: "audit_log",
    deleteExpired(now, limit) {
      const { changes } = removeExpired.run(now, limit);
      return { deleted: changes, done: changes < limit };
    },
  };
}
