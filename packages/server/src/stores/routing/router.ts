import type { Clock, Stores } from "../types.js";
import type { StoreBackend } from "../usage.js";
import { AREA_OF_STORE, AREAS, type Area, perArea, storesOfArea } from "./areas.js";
import { dualWriteTelemetry, withIndexFallback } from "./dual-write.js";
import type { Flags, FlagsState } from "./flags.js";

/**
 * An area now served by the other store: published after every change of the flags in force that moves
 * one (made on this instance, or picked up from another), so that whatever holds the area's data in
 * memory forgets it.
 */
export interface AreaMove {
  area: Area;
  from: StoreBackend;
  to: StoreBackend;
  /** Who changed the flags, e.g. `user:<id>` or `cli`; null if another process did not say. */
  by: string | null;
  /** The stores that moved with the area. */
  stores: (keyof Stores)[];
}

export interface StoreRouter {
  /** Stores resolved at call time: a flag change applies to the next store call, without a restart. */
  stores: Stores;
  backendOf(area: Area): StoreBackend;
  /** The store `area` would be served by under `flags` (Firestore only when configured). */
  backendIn(flags: Flags, area: Area): StoreBackend;
  /** The store of every area, e.g. for `/readyz` and the flags route. */
  backends(): Record<Area, StoreBackend>;
  /** Whether a Firestore project or emulator is configured (without it every area stays on SQLite). */
  readonly firestoreConfigured: boolean;
  /** Every configured backend's stores (for the sweeper and readiness). */
  all(): Array<{ backend: StoreBackend; stores: Stores }>;
  /**
   * Calls `listener` for each area that moves to the other store (synchronously: listeners must be quick
   * and must not throw). Returns the function that unsubscribes it.
   *
   * @example
   * router.onAreaMoved((move) => {
   *   if (move.stores.includes("devices")) deviceCache.clear();
   * });
   */
  onAreaMoved(listener: (move: AreaMove) => void): () => void;
}

/**
 * Routes each area to SQLite or Firestore according to the flags in force when the call is made
 * (docs/design/store-routing.md).
 *
 * @example
 * const router = routeStores({ sqlite, firestore, flags: new FlagsState(fleet.flags, saved) });
 * await router.stores.telemetry.latest("demo", deviceId, 100);
 */
export function routeStores(options: {
  sqlite: Stores;
  firestore: Stores | null;
  flags: FlagsState;
  clock?: Clock;
}): StoreRouter {
  const { sqlite, firestore, flags } = options;
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
  const backendIn = (state: Flags, area: Area): StoreBackend =>
    state[area] && firestore ? "firestore" : "sqlite";
  const backendOf = (area: Area): StoreBackend => backendIn(flags.current(), area);
  const telemetry = () => {
    if (window && flags.current().telemetry_dual_write) {
      return backendOf("telemetry") === "firestore" ? window.afterFlip : window.beforeFlip;
    }
    return pick("telemetry");
  };
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

  const listeners = new Set<(move: AreaMove) => void>();
  flags.onChange(({ before, after, by }) => {
    for (const area of AREAS) {
      const [from, to] = [backendIn(before, area), backendIn(after, area)];
      if (from === to) continue;
      const move: AreaMove = { area, from, to, by, stores: storesOfArea(area) };
      for (const listener of listeners) listener(move);
    }
  });

  return {
    stores,
    backendOf,
    backendIn,
    backends: () => perArea(backendOf),
    firestoreConfigured: firestore !== null,
    all: () => [
      { backend: "sqlite", stores: sqlite },
      ...(firestore ? [{ backend: "firestore" as const, stores: firestore }] : []),
    ],
    onAreaMoved(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
