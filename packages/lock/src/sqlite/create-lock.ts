import type { Database } from "better-sqlite3";
import { type CreateLockOptions, createLock as createLockOn, type LockFunction } from "../common/lock.js";
import { createSqliteBackend } from "./backend.js";
import type { SqliteBackendOptions } from "./config.js";

/**
 * A `lock(fn, options)` function on a SQLite backend.
 *
 * @example
 * const lock = createLock(new Database("data/locks.db"));
 * await lock(({ fence }) => save(fence), { key: "job:sweep" });
 */
export function createLock(
  database: Database,
  options: SqliteBackendOptions & CreateLockOptions = {},
): LockFunction {
  const { onEvent, ...backendOptions } = options;
  return createLockOn(createSqliteBackend(database, backendOptions), onEvent ? { onEvent } : {});
}
