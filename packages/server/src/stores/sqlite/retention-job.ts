import { every } from "../../runtime/periodic.js";
import type { RunExclusive } from "../../sessions/sweeper.js";
import type { Clock } from "../types.js";
import type { RetentionTarget } from "./retention.js";

export const RETENTION_LOCK_KEY = "firebrick:sqlite-retention";

export interface RetentionJobOptions {
  targets: RetentionTarget[];
  /** Runs a pass only while this instance holds the service lock (instances may share one data dir). */
  runExclusive: RunExclusive;
  clock: Clock;
  /** Between runs (default 10 min). */
  intervalMs?: number;
  /** Rows deleted per transaction (default 1,000): a batch holds the database for a few ms at most. */
  batchSize?: number;
  /** A run stops after this long (default 10 s) and the next one goes on where it stopped. */
  maxRunMs?: number;
  onError?: (error: unknown) => void;
}

export interface RetentionJob {
  /** One run; returns the rows deleted per table (none if another instance held the lock). */
  runOnce(): Promise<Record<string, number>>;
  /** Ends the job; resolves once a run in progress has settled (`every`). */
  stop(): Promise<void>;
}

/**
 * Deletes expired rows from SQLite (telemetry, the audit log; sessions have their sweeper,
 * sessions/sweeper.ts), so that at steady state the file stops growing: freed pages are reused by new
 * rows. Each run, under the service lock, deletes in bounded batches (one short transaction each,
 * yielding to the event loop between them) until every target is done or `maxRunMs` has passed.
 *
 * @example
 * const job = startRetentionJob({ targets: sqliteRetentionTargets(db), runExclusive, clock: Date.now });
 */
export function startRetentionJob(options: RetentionJobOptions, autoStart = true): RetentionJob {
  const batchSize = options.batchSize ?? 1000;
  const maxRunMs = options.maxRunMs ?? 10_000;

  async function runOnce(): Promise<Record<string, number>> {
    const deleted: Record<string, number> = {};
    await options.runExclusive(async () => {
      const deadline = performance.now() + maxRunMs;
      for (const target of options.targets) {
        deleted[target.table] = 0;
        for (;;) {
          const batch = target.deleteExpired(options.clock(), batchSize);
          deleted[target.table]! += batch.deleted;
          if (batch.done || performance.now() > deadline) break;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    });
    return deleted;
  }

  const job = autoStart ? every(options.intervalMs ?? 10 * 60_000, runOnce, options.onError) : null;

  return {
    runOnce,
    async stop() {
      await job?.stop();
    },
  };
}
