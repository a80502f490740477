import type { Firestore } from "@google-cloud/firestore";
import type { Clock, Stores, TenantZone } from "../types.js";
import type { UsageRecorder } from "../usage.js";
import { createFirestoreAuditLogStore } from "./audit.js";
import { type CommitObserver, type FirestoreCollections, firestoreContext } from "./context.js";
import { createFirestoreDevicesStore } from "./devices.js";
import { GroupCommitter } from "./group-commit.js";
import { createRollupMaintenance } from "./rollups/maintenance.js";
import { createFirestoreSessionsStore } from "./sessions.js";
import { createFirestoreTelemetryStore, type RollupTuning, rollupWriter } from "./telemetry.js";
import { createFirestoreTenantsStore } from "./tenants.js";
import { createFirestoreUsersStore } from "./users.js";

export type { CommitObserver, FirestoreCollections } from "./context.js";
export { DEFAULT_COLLECTIONS } from "./context.js";
export type { RollupMaintenance } from "./rollups/maintenance.js";

export interface FirestoreStoresOptions {
  clock?: Clock;
  usage?: UsageRecorder;
  collections?: Partial<FirestoreCollections>;
  /** Sees the telemetry store's group commits (sizes, queue depth), e.g. `commitMetrics(metrics)`. */
  commits?: CommitObserver;
  /** Tests only: a shorter margin for `TelemetryStore.changes` (see `WRITE_TIME_MARGIN_MS`). */
  writeTimeMarginMs?: number;
  /** How the telemetry store keeps its trend rollups (tests shorten its intervals). */
  rollups?: RollupTuning;
}

/**
 * The stores on a Firestore database (the collections of docs/design/stores.md).
 *
 * @example
 * const stores = createFirestoreStores(new Firestore({ projectId }), { usage: metrics });
 */
export function createFirestoreStores(db: Firestore, options: FirestoreStoresOptions = {}): Stores {
  const context = firestoreContext(db, options);
  return {
    tenants: createFirestoreTenantsStore(context),
    users: createFirestoreUsersStore(context),
    sessions: createFirestoreSessionsStore(context),
    devices: createFirestoreDevicesStore(context),
    telemetry: createFirestoreTelemetryStore(context, options.rollups),
    audit: createFirestoreAuditLogStore(context),
  };
}

/**
 * The background work of Firestore trend rollups (docs/design/trends.md): repairing the rollups of
 * lapsed intents and folding quiet device-days into month documents. One instance at a time runs it.
 *
 * @example
 * const maintenance = createFirestoreRollupMaintenance(db, { timeZoneOf, usage });
 * await maintenance.runOnce(); // { repaired: 0, folded: 12 }
 */
export function createFirestoreRollupMaintenance(
  db: Firestore,
  options: FirestoreStoresOptions & {
    timeZoneOf(tenant: string): Promise<TenantZone>;
    quietMs?: number;
    batchSize?: number;
  },
) {
  const context = firestoreContext(db, options);
  const writer = rollupWriter(context, new GroupCommitter(db), options.rollups);
  return createRollupMaintenance(context, {
    rollups: db.collection(context.collections.rollups),
    months: db.collection(context.collections.rollup_months),
    intents: db.collection(context.collections.rollup_intents),
    writer,
    timeZoneOf: options.timeZoneOf,
    ...(options.quietMs !== undefined && { quietMs: options.quietMs }),
    ...(options.batchSize !== undefined && { batchSize: options.batchSize }),
  });
}
