import type { Database } from "better-sqlite3";
import { defaultDisposalErrorHandler } from "../common/disposable.js";
import { LockError } from "../common/errors.js";
import { consoleLockLogger } from "../common/logger.js";
import type { BackendConfig, LockLogger, OnReleaseError } from "../common/types.js";

export interface SqliteBackendOptions extends BackendConfig {
  /** Lock rows (default `locks`). */
  table?: string;
  /** Fence counters (default `fence_counters`); must differ from `table`. Never clean it up. */
  fenceTable?: string;
  /** Let `isLocked()` delete an expired lock row it comes across (default false). */
  cleanupInIsLocked?: boolean;
  logger?: LockLogger;
  /** The clock (default `Date.now`); only tests replace it. */
  now?: () => number;
}

export interface SqliteContext {
  readonly db: Database;
  readonly table: string;
  readonly fenceTable: string;
  readonly cleanupInIsLocked: boolean;
  readonly logger: LockLogger;
  readonly now: () => number;
  readonly onReleaseError: OnReleaseError;
  readonly disposeTimeoutMs: number | undefined;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Validates options (table names are interpolated into SQL, so only plain identifiers pass). */
export function resolveSqliteConfig(db: Database, options: SqliteBackendOptions = {}): SqliteContext {
  if (!db || typeof (db as Partial<Database>).prepare !== "function") {
    throw new LockError("InvalidArgument", "createSqliteBackend needs a better-sqlite3 Database");
  }
  const table = options.table ?? "locks";
  const fenceTable = options.fenceTable ?? "fence_counters";
  for (const [name, value] of [
    ["table", table],
    ["fenceTable", fenceTable],
  ] as const) {
    if (typeof value !== "string" || !IDENTIFIER.test(value) || value.toLowerCase().startsWith("sqlite_")) {
      throw new LockError("InvalidArgument", `${name} must be a plain SQL identifier`);
    }
  }
  if (table.toLowerCase() === fenceTable.toLowerCase()) {
    throw new LockError("InvalidArgument", "Fence counter table must differ from lock table");
  }
  const disposeTimeoutMs = options.disposeTimeoutMs;
  if (disposeTimeoutMs !== undefined && !(Number.isFinite(disposeTimeoutMs) && disposeTimeoutMs > 0)) {
    throw new LockError("InvalidArgument", "disposeTimeoutMs must be a positive number of milliseconds");
  }
  return {
    db,
    table,
    fenceTable,
    cleanupInIsLocked: options.cleanupInIsLocked ?? false,
    logger: options.logger ?? consoleLockLogger,
    now: options.now ?? Date.now,
    onReleaseError: options.onReleaseError ?? defaultDisposalErrorHandler,
    disposeTimeoutMs,
  };
}
