import type { SqliteDatabase } from "../../storage/sqlite.js";
import { type Clock, StoreConflictError, StoreUnavailableError } from "../types.js";
import type { StoreArea, UsageRecorder } from "../usage.js";

export interface SqliteContext {
  db: SqliteDatabase;
  clock: Clock;
  usage: UsageRecorder;
}

export function recordSqlite(context: SqliteContext, area: StoreArea, reads: number, writes: number): void {
  context.usage.record("sqlite", area, reads, writes);
}

/** Translates SQLite's errors into the store errors; everything else passes unchanged. */
export function translateSqliteError(error: unknown, conflict: string): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "SQLITE_CONSTRAINT_UNIQUE") {
    return new StoreConflictError(conflict, { cause: error });
  }
  if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") {
    return new StoreUnavailableError("SQLite is busy", { cause: error });
  }
  return error;
}

/** Runs a statement, turning a busy database into `StoreUnavailableError`. */
export function withSqlite<T>(work: () => T, conflict = "already exists"): T {
  try {
    return work();
  } catch (error) {
    throw translateSqliteError(error, conflict);
  }
}
