import type { SqliteDatabase } from "../../storage/sqlite.js";
import type { Clock, Stores } from "../types.js";
import { ignoreUsage, type UsageRecorder } from "../usage.js";
import { createSqliteAuditLogStore } from "./audit.js";
import type { SqliteContext } from "./context.js";
import { createSqliteDevicesStore } from "./devices.js";
import type { SqliteGroupCommit } from "./group-commit.js";
import { createSqliteSessionsStore } from "./sessions.js";
import { createSqliteTelemetryStore } from "./telemetry.js";
import { createSqliteTenantsStore } from "./tenants.js";
import { createSqliteUsersStore } from "./users.js";

export interface SqliteStoresOptions {
  clock?: Clock;
  usage?: UsageRecorder;
  /** The telemetry store's group commit; pass one to pause it (the WAL checkpointer does). */
  telemetryCommits?: SqliteGroupCommit;
}

/**
 * The stores on a SQLite database opened with `SQLITE_MIGRATIONS`.
 *
 * @example
 * const db = openSqlite("./data/firebrick.sqlite", SQLITE_MIGRATIONS);
 * const stores = createSqliteStores(db, { usage: metrics });
 */
export function createSqliteStores(db: SqliteDatabase, options: SqliteStoresOptions = {}): Stores {
  const context: SqliteContext = {
    db,
    clock: options.clock ?? Date.now,
    usage: options.usage ?? ignoreUsage,
  };
  return {
    tenants: createSqliteTenantsStore(context),
    users: createSqliteUsersStore(context),
    sessions: createSqliteSessionsStore(context),
    devices: createSqliteDevicesStore(context),
    telemetry: createSqliteTelemetryStore(context, options.telemetryCommits),
    audit: createSqliteAuditLogStore(context),
  };
}
