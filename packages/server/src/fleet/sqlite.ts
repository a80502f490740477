import type { SqliteDatabase } from "../storage/sqlite.js";
import { queryReads } from "../stores/billing.js";
import { decodeCursor } from "../stores/cursor.js";
import { assertLimit } from "../stores/keys.js";
import { FLAG_NAMES, type Flags } from "../stores/routing/flags.js";
import type { SqliteGroupCommit } from "../stores/sqlite/group-commit.js";
import type { RetentionTarget } from "../stores/sqlite/retention.js";
import type { Clock } from "../stores/types.js";
import { ignoreUsage, type UsageRecorder } from "../stores/usage.js";
import {
  completePlatformAuditEntry,
  PLATFORM_AUDIT_RETENTION_MS,
  platformAuditPage,
} from "./platform-audit-entry.js";
import type { FleetState, PlatformAuditEntry, SavedFlags, VersionedRecord } from "./types.js";

/** How long a published change stays in `fleet_changes`: watchers read it within a poll or two. */
const CHANGE_ROWS_KEPT_MS = 60 * 60_000;

export interface SqliteFleetOptions {
  clock?: Clock;
  usage?: UsageRecorder;
  /** How often a watching process looks for changes made by the others (`PRAGMA data_version`). */
  pollMs?: number;
  /**
   * The telemetry store's group commit (stores/sqlite/group-commit.ts): record writes on a version
   * held (the fleet limiter's charges, up to one per telemetry request) share its transactions instead
   * of committing one each. Without it every write commits alone.
   */
  commits?: SqliteGroupCommit;
}

/** Records read and not written since, at most (beyond, the set starts over: writes then wait a turn). */
const MAX_READ_PENDING = 10_000;

/**
 * The service-wide state in the SQLite file (docs/design/fleet.md): for the processes of one host that
 * share a data dir. The flags stay where they always were (the `settings` row `flags`); the rest is in
 * the tables of migration 51. A watching process polls `PRAGMA data_version`, which changes only when
 * another connection committed, so an idle poll reads nothing; its own changes it knows already.
 *
 * @example
 * const fleet = createSqliteFleetState(db, { clock });
 * const watch = fleet.watch({ flags: (saved) => state.observe(saved), change, health, error });
 */
export function createSqliteFleetState(db: SqliteDatabase, options: SqliteFleetOptions = {}): FleetState {
  const clock = options.clock ?? Date.now;
  const usage = options.usage ?? ignoreUsage;
  const record = (reads: number, writes: number, area: "flags" | "fleet" = "fleet") =>
    usage.record("sqlite", area, reads, writes);

  const selectFlags = db.prepare<[], { value: string; updated_at: number }>(
    "SELECT value, updated_at FROM settings WHERE key = 'flags'",
  );
  const upsertFlags = db.prepare<[string, number]>(
    "INSERT INTO settings (key, value, updated_at) VALUES ('flags', ?, ?) " +
      "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
  );
  const insertFlags = db.prepare<[string, number]>(
    "INSERT INTO settings (key, value, updated_at) VALUES ('flags', ?, ?) ON CONFLICT(key) DO NOTHING",
  );
  const loadFlags = (): SavedFlags | null => {
    const row = selectFlags.get();
    return row ? parseFlagsRow(row.value, row.updated_at) : null;
  };
  // BEGIN IMMEDIATE: the write lock first, so that two processes' updates serialise instead of racing.
  const initializeFlags = db.transaction((initial: Flags, by: string, at: number) => {
    const { changes } = insertFlags.run(JSON.stringify({ ...initial, changed_by: by }), at);
    return { ...loadFlags()!, created: changes === 1 };
  });
  const updateFlags = db.transaction(
    (defaults: Flags, change: (current: Flags) => Flags, by: string, at: number) => {
      const before: Flags = { ...defaults, ...loadFlags()?.flags };
      const after = change({ ...before });
      upsertFlags.run(JSON.stringify({ ...after, changed_by: by }), at);
      return { before, after };
    },
  );

  const selectRecord = db.prepare<[string], { value: string; version: number }>(
    "SELECT value, version FROM fleet_records WHERE id = ?",
  );
  const insertRecord = db.prepare<[string, string, string, number]>(
    `INSERT INTO fleet_records (id, kind, value, version, expire_at) VALUES (?, ?, ?, 1, ?)
     ON CONFLICT (id) DO NOTHING`,
  );
  const casRecord = db.prepare<[string, string, number, string, number]>(
    `UPDATE fleet_records SET value = ?, kind = ?, expire_at = ?, version = version + 1
     WHERE id = ? AND version = ?`,
  );
  const deleteRecord = db.prepare<[string]>("DELETE FROM fleet_records WHERE id = ?");

  const insertAudit = db.prepare(
    `INSERT INTO platform_audit (id, action, actor, timestamp_ms, outcome, target, details, expire_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const listAudit = db.prepare<[number, number], AuditRow>(
    `SELECT ${AUDIT_COLUMNS} FROM platform_audit INDEXED BY platform_audit_by_time
     WHERE timestamp_ms > ? ORDER BY timestamp_ms DESC, id DESC LIMIT ?`,
  );
  const listAuditAfter = db.prepare<[number, number, string, number], AuditRow>(
    `SELECT ${AUDIT_COLUMNS} FROM platform_audit INDEXED BY platform_audit_by_time
     WHERE timestamp_ms > ? AND (timestamp_ms, id) < (?, ?) ORDER BY timestamp_ms DESC, id DESC LIMIT ?`,
  );

  const insertChange = db.prepare<[string, string, string, number]>(
    "INSERT INTO fleet_changes (kind, tenant_id, subject, at) VALUES (?, ?, ?, ?)",
  );
  const lastChange = db.prepare<[], number | null>("SELECT MAX(seq) FROM fleet_changes").pluck();
  const changesAfter = db.prepare<
    [number],
    { seq: number; kind: string; tenant_id: string; subject: string }
  >("SELECT seq, kind, tenant_id, subject FROM fleet_changes WHERE seq > ? ORDER BY seq");
  /** Records read since this process last wrote them (`records.write`). */
  const readSinceWrite = new Set<string>();
  /** Bumped by this process's own writes, which `data_version` does not report to it. */
  let ownWrites = 0;

  return {
    backend: "sqlite",
    location: `SQLite ${db.name} (settings row flags; tables fleet_records, platform_audit, fleet_changes)`,
    flags: {
      async load() {
        const saved = loadFlags();
        record(1, 0, "flags");
        return saved;
      },
      async initialize(initial, by, at) {
        const saved = initializeFlags.immediate(initial, by, at);
        record(1, saved.created ? 1 : 0, "flags");
        if (saved.created) ownWrites++;
        return saved;
      },
      async update(defaults, change, by, at) {
        const result = updateFlags.immediate(defaults, change, by, at);
        ownWrites++;
        record(1, 1, "flags");
        return result;
      },
    },
    records: {
      async read(id): Promise<VersionedRecord | null> {
        const row = selectRecord.get(id);
        if (options.commits) {
          if (readSinceWrite.size >= MAX_READ_PENDING) readSinceWrite.clear();
          readSinceWrite.add(id);
        }
        record(1, 0);
        return row
          ? { value: JSON.parse(row.value) as Record<string, unknown>, version: String(row.version) }
          : null;
      },
      async write(id, kind, value, expected, expireAt) {
        const json = JSON.stringify(value);
        let changes = 0;
        const write = () => {
          changes =
            expected === null
              ? insertRecord.run(id, kind, json, expireAt).changes
              : casRecord.run(json, kind, expireAt, id, Number(expected)).changes;
        };
        // A write on a version just read (first sight, or a retry after another instance wrote first)
        // commits at once, leaving no gap between read and write: group-committed, a retry could lose
        // every time to an instance writing on the version it holds, which commits a turn earlier.
        if (options.commits && !readSinceWrite.delete(id)) await options.commits.write(1, write);
        else write();
        record(0, changes);
        if (changes !== 1) return null;
        return expected === null ? "1" : String(Number(expected) + 1);
      },
      async delete(id) {
        const { changes } = deleteRecord.run(id);
        record(0, changes);
      },
    },
    platformAudit: {
      async append(entry) {
        const stored = completePlatformAuditEntry(entry);
        insertAudit.run(
          stored.id,
          stored.action,
          stored.actor,
          stored.timestamp_ms,
          stored.outcome,
          stored.target,
          JSON.stringify(stored.details),
          stored.timestamp_ms + PLATFORM_AUDIT_RETENTION_MS,
        );
        record(0, 1);
        return stored;
      },
      async list({ limit, cursor }) {
        assertLimit(limit, 1000);
        const oldest = clock() - PLATFORM_AUDIT_RETENTION_MS;
        const after = cursor ? decodeCursor("platform_audit", cursor) : null;
        const rows = after
          ? listAuditAfter.all(oldest, after.t, after.id, limit)
          : listAudit.all(oldest, limit);
        record(queryReads(rows.length), 0);
        return platformAuditPage(rows.map(toAuditEntry), limit);
      },
    },
    changes: {
      async publish(change) {
        insertChange.run(change.kind, change.tenant_id, change.subject, clock());
        ownWrites++;
        record(0, 1);
      },
    },
    watch(listener) {
      const pollMs = options.pollMs ?? 200;
      let lastVersion = -1;
      let lastOwnWrites = -1;
      let lastFlags: string | null = null;
      let lastSeq = lastChange.get() ?? 0;
      let healthy = false;
      const poll = () => {
        try {
          const version = db.pragma("data_version", { simple: true }) as number;
          if (version !== lastVersion || ownWrites !== lastOwnWrites) {
            lastVersion = version;
            lastOwnWrites = ownWrites;
            const row = selectFlags.get();
            // The first poll delivers the flags too: a change made since the caller loaded them is not lost.
            if (row && row.value !== lastFlags) {
              lastFlags = row.value;
              listener.flags(parseFlagsRow(row.value, row.updated_at));
            }
            for (const change of changesAfter.all(lastSeq)) {
              lastSeq = change.seq;
              listener.change({
                kind: change.kind === "webhooks" ? "webhooks" : "device",
                tenant_id: change.tenant_id,
                subject: change.subject,
              });
            }
          }
          if (!healthy) {
            healthy = true;
            listener.health(true);
          }
        } catch (error) {
          listener.error(error);
          if (healthy) {
            healthy = false;
            listener.health(false);
          }
        }
      };
      poll();
      const timer = setInterval(poll, pollMs);
      timer.unref();
      return {
        async stop() {
          clearInterval(timer);
        },
      };
    },
  };
}

/** The fleet tables whose rows expire, for the SQLite retention job (`stores/sqlite/retention-job.ts`). */
export function fleetRetentionTargets(db: SqliteDatabase): RetentionTarget[] {
  const expiredRecords = db.prepare<[number, number]>(
    `DELETE FROM fleet_records WHERE id IN
       (SELECT id FROM fleet_records INDEXED BY fleet_records_by_expiry WHERE expire_at <= ? LIMIT ?)`,
  );
  const expiredAudit = db.prepare<[number, number]>(
    `DELETE FROM platform_audit WHERE id IN
       (SELECT id FROM platform_audit INDEXED BY platform_audit_by_expiry WHERE expire_at <= ? LIMIT ?)`,
  );
  const oldChanges = db.prepare<[number, number]>(
    "DELETE FROM fleet_changes WHERE seq IN (SELECT seq FROM fleet_changes WHERE at <= ? ORDER BY seq LIMIT ?)",
  );
  const target = (table: string, run: (now: number, limit: number) => number): RetentionTarget => ({
    table,
    deleteExpired(now, limit) {
      const deleted = run(now, limit);
      return { deleted, done: deleted < limit };
    },
  });
  return [
    target("fleet_records", (now, limit) => expiredRecords.run(now, limit).changes),
    target("platform_audit", (now, limit) => expiredAudit.run(now, limit).changes),
    target("fleet_changes", (now, limit) => oldChanges.run(now - CHANGE_ROWS_KEPT_MS, limit).changes),
  ];
}

/** The saved flags of a `settings` row: known names with boolean values only, and who saved them. */
export function parseFlagsRow(value: string, updatedAt: number): SavedFlags {
  const parsed = JSON.parse(value) as Record<string, unknown>;
  const flags: SavedFlags["flags"] = {};
  for (const name of FLAG_NAMES) if (typeof parsed[name] === "boolean") flags[name] = parsed[name];
  return { flags, by: typeof parsed.changed_by === "string" ? parsed.changed_by : null, updatedAt };
}

const AUDIT_COLUMNS = "id, action, actor, timestamp_ms, outcome, target, details";

interface AuditRow extends Omit<PlatformAuditEntry, "details"> {
  details: string;
}

function toAuditEntry(row: AuditRow): PlatformAuditEntry {
  return { ...row, details: JSON.parse(row.details) as Record<string, unknown> };
}
