import { every } from "../runtime/periodic.js";
import type { Clock, SessionsStore } from "../stores/types.js";
import { SESSION_POLICY } from "./manager.js";

/**
 * Runs `task` only if this instance holds the sweeper lock; resolves without running it when another
 * instance holds it. With `@firebrick/lock`: `(task) => lock(task, { key: "sessions-sweeper", ttlMs })`
 * with the "locked" outcome caught.
 */
/**
 * Runs `task` if this instance gets the job's lock (skips it otherwise), handing it the lock's fencing
 * token for writes that must be refused once a newer holder wrote (null where nothing fences: one process).
 */
export type RunExclusive = (task: (held: { fence: string | null }) => Promise<void>) => Promise<void>;

export interface SessionSweeperOptions {
  /** Every sessions store in use (SQLite, and Firestore when configured): expired rows are purged from each. */
  stores: () => SessionsStore[];
  runExclusive: RunExclusive;
  clock: Clock;
  intervalMs?: number;
  idleTimeoutMs?: number;
  /** Deleted per store per run; a backlog drains over several runs. */
  batchSize?: number;
  onError?: (error: unknown) => void;
}

export interface SessionSweeper {
  /** One pass; returns how many sessions were deleted (0 if another instance held the lock). */
  sweepOnce(): Promise<number>;
  /** Ends the job; resolves once a run in progress has settled (`every`). */
  stop(): Promise<void>;
}

/**
 * Purges sessions past their idle or absolute expiry. Firestore's TTL also deletes them, but lags up to
 * a day and SQLite has no TTL, so both stores are swept; the lock keeps instances from sweeping together.
 */
export function startSessionSweeper(options: SessionSweeperOptions, autoStart = true): SessionSweeper {
  const idleTimeoutMs = options.idleTimeoutMs ?? SESSION_POLICY.idleTimeoutMs;
  const limit = options.batchSize ?? 500;

  async function sweepOnce(): Promise<number> {
    let deleted = 0;
    await options.runExclusive(async () => {
      for (const store of options.stores()) {
        deleted += await store.deleteExpired(options.clock(), { idleTimeoutMs, limit });
      }
    });
    return deleted;
  }

  const job = autoStart ? every(options.intervalMs ?? 5 * 60_000, sweepOnce, options.onError) : null;

  return {
    sweepOnce,
    async stop() {
      await job?.stop();
    },
  };
}
