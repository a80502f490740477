export type * from "../common/types.js";
export { createSqliteBackend, createSqliteLockAdmin } from "./backend.js";
export type { SqliteBackendOptions } from "./config.js";
export { createLock } from "./create-lock.js";
export { mapSqliteError } from "./errors.js";
