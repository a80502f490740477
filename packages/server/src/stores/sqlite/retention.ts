import type { SqliteDatabase } from "../../storage/sqlite.js";
import { TELEMETRY_RETENTION_MS } from "../types.js";

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
  return [telemetryRetention(db), auditRetention(db)];
}

/** Devices visited per batch at most, so that a batch stays short when few of them have expired points. */
const DEVICES_PER_BATCH = 2000;

/**
 * Telemetry, walked device by device along the primary key (tenant_id, device_id, timestamp_ms desc):
 * a point expires `TELEMETRY_RETENTION_MS` after its timestamp (`expire_at` is always
 * `timestamp_ms + TELEMETRY_RETENTION_MS`), so a device's expired points are one contiguous key range,
 * deleted by a range scan. No index on `expire_at` is needed for this (migration 2 dropped it): finding
 * the next device is one seek on the key. The cursor lives in memory; a restart begins a new pass.
 */
function telemetryRetention(db: SqliteDatabase): RetentionTarget {
  const nextDevice = db.prepare<[string, string], { tenant_id: string; device_id: string }>(
    `SELECT tenant_id, device_id FROM telemetry WHERE (tenant_id, device_id) > (?, ?)
     ORDER BY tenant_id, device_id LIMIT 1`,
  );
  // expire_at is checked too, so that the range scan never deletes a point that has not expired.
  const removeExpired = db.prepare<[string, string, number, number, number]>(
    `DELETE FROM telemetry WHERE tenant_id = ? AND device_id = ? AND timestamp_ms <= ? AND expire_at <= ?
     ORDER BY timestamp_ms LIMIT ?`,
  );
  /** The last device whose expired points are all gone in this pass ("" before the first). */
  let after = { tenant_id: "", device_id: "" };
  const batch = db.transaction((now: number, limit: number) => {
    let deleted = 0;
    for (let visited = 0; visited < DEVICES_PER_BATCH && deleted < limit; visited++) {
      const device = nextDevice.get(after.tenant_id, after.device_id);
      if (!device) {
        after = { tenant_id: "", device_id: "" };
        return { deleted, done: true };
      }
      const left = limit - deleted;
      const { changes } = removeExpired.run(
        device.tenant_id,
        device.device_id,
        now - TELEMETRY_RETENTION_MS,
        now,
        left,
      );
      deleted += changes;
      // A device with more expired points than this batch had room for is visited again next batch.
      if (changes < left) after = device;
    }
    return { deleted, done: false };
  });
  return { table: "telemetry", deleteExpired: (now, limit) => batch.immediate(now, limit) };
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
