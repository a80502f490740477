import type { LockAdmin, LockBackend } from "@firebrick/lock";
import { createFirestoreBackend, createFirestoreLockAdmin } from "@firebrick/lock/firestore";
import { createSqliteBackend, createSqliteLockAdmin } from "@firebrick/lock/sqlite";
import type { Firestore } from "@google-cloud/firestore";
import type { SqliteDatabase } from "../storage/sqlite.js";
import type { OpenedStores } from "./open-stores.js";

export interface ServiceLocks {
  kind: "firestore" | "sqlite";
  /** Where the locks live, for an operator: the SQLite file, or the Firestore collection. */
  location: string;
  /** What the service's jobs lock with (wrap it in `createLock`). */
  backend: LockBackend;
  /** What `firebrick locks` inspects and force-releases: the same collections or tables as `backend`. */
  admin: LockAdmin;
}

/**
 * The one place that decides where the service's jobs take their locks, so that the jobs (the session
 * sweeper, migrations) and `firebrick locks` always look at the same ones. Instances that share a Firestore
 * project coordinate through it; without Firestore they can only share the SQLite file (processes on one
 * host), so the locks live there, in the `locks` and `fence_counters` tables of `firebrick.sqlite`.
 * Migration jobs, which always write to Firestore, pass just their Firestore client.
 *
 * @example
 * const { backend } = serviceLocks(opened);
 * const lock = createLock(backend);
 */
export function serviceLocks(opened: { firestore: Firestore }): ServiceLocks;
export function serviceLocks(opened: Pick<OpenedStores, "sqlite" | "firestore">): ServiceLocks;
export function serviceLocks(opened: { sqlite?: SqliteDatabase; firestore: Firestore | null }): ServiceLocks {
  if (opened.firestore) {
    return {
      kind: "firestore",
      location: "Firestore collections locks, fence_counters",
      backend: createFirestoreBackend(opened.firestore),
      admin: createFirestoreLockAdmin(opened.firestore),
    };
  }
  // The overloads guarantee SQLite whenever there is no Firestore.
  const sqlite = opened.sqlite!;
  return {
    kind: "sqlite",
    location: `SQLite ${sqlite.name} (tables locks, fence_counters)`,
    backend: createSqliteBackend(sqlite),
    admin: createSqliteLockAdmin(sqlite),
  };
}
