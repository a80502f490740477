import type { Database } from "better-sqlite3";
import { checkAborted } from "../common/abort.js";
import { refused } from "../common/backend-semantics.js";
import { generateLockId } from "../common/crypto.js";
import { attachRawData, sanitizeLockInfo } from "../common/diagnostics.js";
import { decorateAcquireResult } from "../common/disposable.js";
import { nextFence, parseFence } from "../common/fence.js";
import { isLive, TIME_TOLERANCE_MS } from "../common/time-predicates.js";
import type {
  AcquireResult,
  ExtendResult,
  LockAdmin,
  LockBackend,
  LockInfo,
  LockListing,
  ReleaseResult,
  SqliteCapabilities,
} from "../common/types.js";
import { normalizeAndValidateKey, validateLockId, validateTtlMs } from "../common/validation.js";
import { resolveSqliteConfig, type SqliteBackendOptions, type SqliteContext } from "./config.js";
import { mapSqliteError } from "./errors.js";

const CAPABILITIES: Readonly<SqliteCapabilities> = Object.freeze({
  backend: "sqlite",
  supportsFencing: true,
  timeAuthority: "client",
});

interface LockRow {
  key: string;
  lock_id: string;
  expires_at_ms: number;
  acquired_at_ms: number;
  fence: string;
}

/**
 * Creates the tables if missing and prepares the statements. `lock_id` is UNIQUE, which is both the
 * index that release/extend need and a guarantee that duplicates cannot exist.
 */
function prepare(ctx: SqliteContext) {
  const { db, table, fenceTable } = ctx;
  db.exec(`
    CREATE TABLE IF NOT EXISTS "${table}" (
      key TEXT PRIMARY KEY,
      lock_id TEXT NOT NULL UNIQUE,
      expires_at_ms INTEGER NOT NULL,
      acquired_at_ms INTEGER NOT NULL,
      fence TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS "${table}_expires_at_ms" ON "${table}" (expires_at_ms);
    CREATE TABLE IF NOT EXISTS "${fenceTable}" (
      key TEXT PRIMARY KEY,
      fence TEXT NOT NULL
    );
  `);
  return {
    byKey: db.prepare<[string], LockRow>(`SELECT * FROM "${table}" WHERE key = ?`),
    byLockId: db.prepare<[string], LockRow>(`SELECT * FROM "${table}" WHERE lock_id = ?`),
    live: db.prepare<[number, number], LockRow>(
      `SELECT * FROM "${table}" WHERE expires_at_ms > ? ORDER BY expires_at_ms LIMIT ?`,
    ),
    fence: db.prepare<[string], { fence: string }>(`SELECT fence FROM "${fenceTable}" WHERE key = ?`),
    saveFence: db.prepare<[string, string]>(
      `INSERT INTO "${fenceTable}" (key, fence) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET fence = excluded.fence`,
    ),
    saveLock: db.prepare<[string, string, number, number, string]>(
      `INSERT OR REPLACE INTO "${table}" (key, lock_id, expires_at_ms, acquired_at_ms, fence) VALUES (?, ?, ?, ?, ?)`,
    ),
    deleteLock: db.prepare<[string, string]>(`DELETE FROM "${table}" WHERE key = ? AND lock_id = ?`),
    setExpiry: db.prepare<[number, string, string]>(
      `UPDATE "${table}" SET expires_at_ms = ? WHERE key = ? AND lock_id = ?`,
    ),
  };
}

type Statements = ReturnType<typeof prepare>;

function toLockInfo(row: LockRow): LockInfo<SqliteCapabilities> {
  const info = sanitizeLockInfo(
    {
      key: row.key,
      lockId: row.lock_id,
      expiresAtMs: row.expires_at_ms,
      acquiredAtMs: row.acquired_at_ms,
      fence: row.fence,
    },
    CAPABILITIES,
  );
  return attachRawData(info, { key: row.key, lockId: row.lock_id });
}

/**
 * Runs `body` in a `BEGIN IMMEDIATE` transaction: the write lock is taken before the first read, so that
 * processes sharing the database file serialize on it (the busy timeout of the connection decides how
 * long one waits) and a read-then-write can never interleave with another writer.
 */
function immediate<T>(ctx: SqliteContext, body: () => T): T {
  try {
    return ctx.db.transaction(body).immediate();
  } catch (error) {
    throw mapSqliteError(error);
  }
}

function settle<T>(signal: AbortSignal | undefined, run: () => T): Promise<T> {
  checkAborted(signal);
  const value = run();
  checkAborted(signal);
  return Promise.resolve(value);
}

/**
 * A lock backend on SQLite (better-sqlite3), the embedded default. Several processes may share one
 * database file: acquisitions serialize on SQLite's write lock, so mutual exclusion and fence monotonicity
 * hold across them. Time authority is each client's clock, as on Firestore. Use WAL mode and a busy
 * timeout on the connection (better-sqlite3's default is 5 s).
 *
 * @example
 * const backend = createSqliteBackend(new Database("data/locks.db"));
 */
export function createSqliteBackend(
  database: Database,
  options: SqliteBackendOptions = {},
): LockBackend<SqliteCapabilities> {
  const ctx = resolveSqliteConfig(database, options);
  let statements: Statements;
  try {
    statements = prepare(ctx);
  } catch (error) {
    throw mapSqliteError(error);
  }
  const s = statements;
  const liveNow = (row: LockRow, nowMs = ctx.now()): boolean =>
    isLive(row.expires_at_ms, nowMs, TIME_TOLERANCE_MS);

  const backend: LockBackend<SqliteCapabilities> = {
    capabilities: CAPABILITIES,

    async acquire(opts) {
      const key = normalizeAndValidateKey(opts.key);
      const ttlMs = validateTtlMs(opts.ttlMs);
      const result = await settle(opts.signal, () =>
        immediate(ctx, (): AcquireResult<SqliteCapabilities> => {
          const nowMs = ctx.now();
          const held = s.byKey.get(key);
          if (held && liveNow(held, nowMs)) return { ok: false, reason: "locked" };
          const stored = s.fence.get(key)?.fence ?? "0";
          const fence = nextFence(parseFence(stored), (message, value) =>
            ctx.logger.warn(message, { fence: value, table: ctx.fenceTable }),
          );
          const lockId = generateLockId();
          const expiresAtMs = nowMs + ttlMs;
          s.saveFence.run(key, fence);
          s.saveLock.run(key, lockId, expiresAtMs, nowMs, fence);
          return { ok: true, lockId, expiresAtMs, fence };
        }),
      );
      return decorateAcquireResult(backend, result, key, ctx.onReleaseError, ctx.disposeTimeoutMs);
    },

    async release(opts) {
      const lockId = validateLockId(opts.lockId);
      return settle(opts.signal, () =>
        immediate(ctx, (): ReleaseResult => {
          const row = s.byLockId.get(lockId);
          if (!row || row.lock_id !== lockId) return refused("not-found");
          if (!liveNow(row)) return refused("expired");
          s.deleteLock.run(row.key, lockId);
          return { ok: true };
        }),
      );
    },

    async extend(opts) {
      const lockId = validateLockId(opts.lockId);
      const ttlMs = validateTtlMs(opts.ttlMs);
      return settle(opts.signal, () =>
        immediate(ctx, (): ExtendResult => {
          const nowMs = ctx.now();
          const row = s.byLockId.get(lockId);
          if (!row || row.lock_id !== lockId) return refused("not-found");
          if (!liveNow(row, nowMs)) return refused("expired");
          const expiresAtMs = nowMs + ttlMs;
          s.setExpiry.run(expiresAtMs, row.key, lockId);
          return { ok: true, expiresAtMs };
        }),
      );
    },

    async isLocked(opts) {
      const key = normalizeAndValidateKey(opts.key);
      return settle(opts.signal, () => {
        try {
          const row = s.byKey.get(key);
          if (!row) return false;
          if (liveNow(row)) return true;
          if (ctx.cleanupInIsLocked) {
            immediate(ctx, () => {
              const again = s.byKey.get(key);
              if (again && again.lock_id === row.lock_id && !liveNow(again))
                s.deleteLock.run(key, row.lock_id);
            });
          }
          return false;
        } catch (error) {
          throw mapSqliteError(error);
        }
      });
    },

    async lookup(opts) {
      if ("key" in opts) {
        const key = normalizeAndValidateKey(opts.key);
        return settle(opts.signal, () => {
          const row = readRow(() => s.byKey.get(key));
          return row && row.key === key && liveNow(row) ? toLockInfo(row) : null;
        });
      }
      const lockId = validateLockId(opts.lockId);
      return settle(opts.signal, () => {
        const row = readRow(() => s.byLockId.get(lockId));
        return row && row.lock_id === lockId && liveNow(row) ? toLockInfo(row) : null;
      });
    },
  };
  return backend;
}

function readRow(read: () => LockRow | undefined): LockRow | undefined {
  try {
    return read();
  } catch (error) {
    throw mapSqliteError(error);
  }
}

/**
 * Operator functions on the tables of `createSqliteBackend(database, options)`.
 *
 * @example
 * const admin = createSqliteLockAdmin(db);
 * await admin.forceRelease({ key: "job:backfill" });
 */
export function createSqliteLockAdmin(
  database: Database,
  options: SqliteBackendOptions = {},
): LockAdmin<SqliteCapabilities> {
  const ctx = resolveSqliteConfig(database, options);
  const s = prepare(ctx);
  const listing = (row: LockRow): LockListing<SqliteCapabilities> => ({ ...toLockInfo(row), key: row.key });
  return {
    list: async (opts = {}) =>
      settle(opts.signal, () =>
        readRows(() => s.live.all(ctx.now() - TIME_TOLERANCE_MS, opts.limit ?? 100)).map(listing),
      ),
    async inspect(opts) {
      const key = normalizeAndValidateKey(opts.key);
      return settle(opts.signal, () => {
        const row = readRow(() => s.byKey.get(key));
        return row && isLive(row.expires_at_ms, ctx.now(), TIME_TOLERANCE_MS) ? listing(row) : null;
      });
    },
    async forceRelease(opts) {
      const key = normalizeAndValidateKey(opts.key);
      return settle(opts.signal, () =>
        immediate(ctx, (): ReleaseResult => {
          const row = s.byKey.get(key);
          if (!row) return { ok: false };
          // The fence counter stays: the next holder must outrank the evicted one.
          s.deleteLock.run(key, row.lock_id);
          return { ok: isLive(row.expires_at_ms, ctx.now(), TIME_TOLERANCE_MS) };
        }),
      );
    },
  };
}

function readRows(read: () => LockRow[]): LockRow[] {
  try {
    return read();
  } catch (error) {
    throw mapSqliteError(error);
  }
}
