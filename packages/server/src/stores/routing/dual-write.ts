import { grpcStatusOf } from "@firebrick/lock/firestore";
import type { Clock, TelemetryStore } from "../types.js";

/**
 * The telemetry dual-write window (docs/design/store-routing.md): every append goes to both stores and is acknowledged
 * only when both have it (a failure fails the request; the client's retry is harmless because a point's
 * identity is its timestamp). Reads come from `reads` alone.
 */
export function dualWriteTelemetry(reads: TelemetryStore, also: TelemetryStore): TelemetryStore {
  return {
    async append(tenant, deviceId, points) {
      const [result] = await Promise.all([
        reads.append(tenant, deviceId, points),
        also.append(tenant, deviceId, points),
      ]);
      return result;
    },
    latest: (...args) => reads.latest(...args),
    window: (...args) => reads.window(...args),
    changes: (...args) => reads.changes(...args),
    windowAscending: (...args) => reads.windowAscending(...args),
    aggregate: (...args) => reads.aggregate(...args),
    // Both stores keep rollups of what they hold: a rebuild (and a flush) is done on both.
    async rebuildRollups(tenant, deviceId, range) {
      const [result] = await Promise.all([
        reads.rebuildRollups(tenant, deviceId, range),
        also.rebuildRollups(tenant, deviceId, range),
      ]);
      return result;
    },
    async flush() {
      await Promise.all([reads.flush(), also.flush()]);
    },
  };
}

export interface IndexFallbackOptions {
  clock: Clock;
  baseDelayMs?: number;
  maxDelayMs?: number;
  onFallback?: (until: number) => void;
}

/**
 * Reads from Firestore, but when Firestore answers "index not ready" serves the read from SQLite and keeps
 * reads there for a backoff period (doubling on each failed retry) before trying Firestore again, as the
 * migration plan asks. Only safe while SQLite is complete, i.e. during the dual-write window.
 */
export function withIndexFallback(
  firestore: TelemetryStore,
  sqlite: TelemetryStore,
  options: IndexFallbackOptions,
): TelemetryStore {
  const base = options.baseDelayMs ?? 5_000;
  const max = options.maxDelayMs ?? 5 * 60_000;
  let failures = 0;
  let sqliteUntil = 0;
  const read =
    <A extends unknown[], R>(pick: (store: TelemetryStore) => (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (options.clock() < sqliteUntil) return pick(sqlite)(...args);
      try {
        const result = await pick(firestore)(...args);
        failures = 0;
        return result;
      } catch (error) {
        // FAILED_PRECONDITION: what Firestore answers a query whose composite index is missing or building.
        if (grpcStatusOf(error) !== "FAILED_PRECONDITION") throw error;
        sqliteUntil = options.clock() + Math.min(max, base * 2 ** failures++);
        options.onFallback?.(sqliteUntil);
        return pick(sqlite)(...args);
      }
    };
  return {
    append: (...args) => firestore.append(...args),
    latest: read((store) => store.latest.bind(store)),
    window: read((store) => store.window.bind(store)),
    changes: read((store) => store.changes.bind(store)),
    windowAscending: read((store) => store.windowAscending.bind(store)),
    aggregate: read((store) => store.aggregate.bind(store)),
    rebuildRollups: (...args) => firestore.rebuildRollups(...args),
    flush: () => firestore.flush(),
  };
}
