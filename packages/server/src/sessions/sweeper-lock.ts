import { LockError, type LockFunction } from "@firebrick/lock";
import type { RunExclusive } from "./sweeper.js";

export const SWEEPER_LOCK_KEY = "firebrick:sessions-sweeper";

/**
 * The sweeper's `runExclusive` on `@firebrick/lock`: one attempt, no waiting; if another instance holds
 * the lock this run is skipped (that instance is sweeping), any other lock error is reported.
 *
 * @example
 * const runExclusive = runUnderLock(createLock(createFirestoreBackend(db)));
 */
export function runUnderLock(
  lock: LockFunction,
  options: { key?: string; ttlMs?: number } = {},
): RunExclusive {
  return async (task) => {
    try {
      await lock(({ fence }) => task({ fence }), {
        key: options.key ?? SWEEPER_LOCK_KEY,
        ttlMs: options.ttlMs ?? 120_000,
        acquisition: { maxRetries: 0, timeoutMs: 2_000 },
      });
    } catch (error) {
      if (error instanceof LockError && error.code === "AcquisitionTimeout") return;
      throw error;
    }
  };
}
