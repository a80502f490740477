import type { Firestore } from "@google-cloud/firestore";
import type { Clock, Stores } from "../types.js";
import { ignoreUsage, type UsageRecorder } from "../usage.js";
import { createFirestoreAuditLogStore } from "./audit.js";
import {
  type CommitObserver,
  DEFAULT_COLLECTIONS,
  type FirestoreCollections,
  type FirestoreContext,
} from "./context.js";
import { createFirestoreDevicesStore } from "./devices.js";
import { createFirestoreSessionsStore } from "./sessions.js";
import { createFirestoreTelemetryStore } from "./telemetry.js";
import { createFirestoreTenantsStore } from "./tenants.js";
import { createFirestoreUsersStore } from "./users.js";

export type { CommitObserver, FirestoreCollections } from "./context.js";
export { DEFAULT_COLLECTIONS } from "./context.js";

export interface FirestoreStoresOptions {
  clock?: Clock;
  usage?: UsageRecorder;
  collections?: Partial<FirestoreCollections>;
  /** Sees the telemetry store's group commits (sizes, queue depth), e.g. `commitMetrics(metrics)`. */
  commits?: CommitObserver;
  /** Tests only: a shorter margin for `TelemetryStore.changes` (see `WRITE_TIME_MARGIN_MS`). */
  writeTimeMarginMs?: number;
}

/**
 * The stores on a Firestore database (the collections of docs/design/stores.md).
 *
 * @example
 * const stores = createFirestoreStores(new Firestore({ projectId }), { usage: metrics });
 */
export function createFirestoreStores(db: Firestore, options: FirestoreStoresOptions = {}): Stores {
  const context: FirestoreContext = {
    db,
    clock: options.clock ?? Date.now,
    usage: options.usage ?? ignoreUsage,
    collections: { ...DEFAULT_COLLECTIONS, ...options.collections },
    commits: options.commits,
    writeTimeMarginMs: options.writeTimeMarginMs,
  };
  return {
    tenants: createFirestoreTenantsStore(context),
    users: createFirestoreUsersStore(context),
    sessions: createFirestoreSessionsStore(context),
    devices: createFirestoreDevicesStore(context),
    telemetry: createFirestoreTelemetryStore(context),
    audit: createFirestoreAuditLogStore(context),
  };
}
