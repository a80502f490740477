import type { Clock, Stores } from "../types.js";
import type { StoreBackend } from "../usage.js";
import { dualWriteTelemetry, withIndexFallback } from "./dual-write.js";
import type { Area, Flags } from "./flags.js";

/** The areas a flag moves, and the stores each one owns. */
export const AREA_OF_STORE = {
  tenants: "auth",
  users: "auth",
  sessions: "auth",
  // Device tokens are credentials and device ids are what users and telemetry refer to; they move with
  // the auth area so that a tenant's users, sessions and devices always live in one store.
  devices: "auth",
  telemetry: "telemetry",
  audit: "audit",
} as const satisfies Record<keyof Stores, Area>;

export interface StoreRouter {
  /** Stores resolved at call time: a flag change applies to the next store call, without a restart. */
  stores: Stores;
  backendOf(area: Area): StoreBackend;
  /** Every configured backend's stores (for the sweeper and readiness). */
  all(): Array<{ backend: StoreBackend; stores: Stores }>;
}

/**
 * Routes each area to SQLite or Firestore according to the flags in force when the call is made.
 *
 * @example
 * const router = routeStores({ sqlite, firestore, flags: () => flagsState.current() });
 * await router.stores.telemetry.latest("demo", deviceId, 100);
 */
export function routeStores(options: {
  sqlite: Stores;
  firestore: Stores | null;
  flags: () => Flags;
  clock?: Clock;
}): StoreRouter {
  const { sqlite, firestore } = options;
  // Built once: the fallback keeps its backoff state between calls.
  const window = firestore && {
    // Reads on SQLite, writes to both: the window before the read flip.
    beforeFlip: dualWriteTelemetry(sqlite.telemetry, firestore.telemetry),
    // Reads on Firestore (SQLite while its index is not ready), writes still to both: rollback loses nothing.
    afterFlip: dualWriteTelemetry(
      withIndexFallback(firestore.telemetry, sqlite.telemetry, { clock: options.clock ?? Date.now }),
      sqlite.telemetry,
    ),
  };
  const telemetry = () => {
    if (window && options.flags().telemetry_dual_write) {
      return backendOf("telemetry") === "firestore" ? window.afterFlip : window.beforeFlip;
    }
    return pick("telemetry");
  };
  const backendOf = (area: Area): StoreBackend =>
    options.flags()[area] && firestore ? "firestore" : "sqlite";
  const pick = <K extends keyof Stores>(name: K): Stores[K] =>
    (backendOf(AREA_OF_STORE[name]) === "firestore" ? firestore! : sqlite)[name];
  const stores = {
    get tenants() {
      return pick("tenants");
    },
    get users() {
      return pick("users");
    },
    get sessions() {
      return pick("sessions");
    },
    get devices() {
      return pick("devices");
    },
    get telemetry() {
      return telemetry();
    },
    get audit() {
      return pick("audit");
    },
  } satisfies Stores;
  return {
    stores,
    backendOf,
    all: () => [
      { backend: "sqlite", stores: sqlite },
      ...(firestore ? [{ backend: "firestore" as const, stores: firestore }] : []),
    ],
  };
}
