import type { LockAdmin, LockBackend, TimeAuthority } from "@firebrick/lock";
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
 * const { backend } = await serviceLocks(opened);
 * const lock = createLock(backend);
 */
export function serviceLocks(
  opened: { firestore: Firestore },
  config?: { timeAuthority: TimeAuthority },
): Promise<ServiceLocks>;
export function serviceLocks(
  opened: Pick<OpenedStores, "sqlite" | "firestore">,
  config?: { timeAuthority: TimeAuthority },
): Promise<ServiceLocks>;
export async function serviceLocks(
  opened: { sqlite?: SqliteDatabase; firestore: Firestore | null },
  config: { timeAuthority: TimeAuthority } = { timeAuthority: "server" },
): Promise<ServiceLocks> {
  if (opened.firestore) {
    // `Config.locks` (FIREBRICK_LOCK_TIME_AUTHORITY): the jobs and `firebrick locks` must judge expiry alike.
    const { timeAuthority } = config;
    // Loaded only with Firestore: the lock's Firestore backend loads the SDK.
    const { createFirestoreBackend, createFirestoreLockAdmin } = await import("@firebrick/lock/firestore");
    return {
      kind: "firestore",
      location: "Firestore collections locks, fence_counters",
      backend: createFirestoreBackend(opened.firestore, { timeAuthority }),
      admin: createFirestoreLockAdmin(opened.firestore, { timeAuthority }),
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
