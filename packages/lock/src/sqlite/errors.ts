import { LockError, type LockErrorCode } from "../common/errors.js";

/** SQLite result codes to lock error codes; better-sqlite3 exposes them as `code` on `SqliteError`. */
const SQLITE_TO_LOCK: ReadonlyMap<string, LockErrorCode> = new Map([
  ["SQLITE_BUSY", "ServiceUnavailable"],
  ["SQLITE_LOCKED", "ServiceUnavailable"],
  ["SQLITE_IOERR", "ServiceUnavailable"],
  ["SQLITE_PERM", "AuthFailed"],
  ["SQLITE_AUTH", "AuthFailed"],
  ["SQLITE_READONLY", "AuthFailed"],
  ["SQLITE_FULL", "RateLimited"],
]);

export function mapSqliteError(error: unknown): LockError {
  if (error instanceof LockError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const base = typeof code === "string" ? code.replace(/^(SQLITE_[A-Z]+).*$/, "$1") : undefined;
  const mapped = base ? SQLITE_TO_LOCK.get(base) : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return new LockError(mapped ?? "Internal", `SQLite: ${message}`, { cause: error });
}
