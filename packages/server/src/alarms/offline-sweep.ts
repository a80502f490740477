import { every, type PeriodicJob } from "../runtime/periodic.js";
import type { RunExclusive } from "../sessions/sweeper.js";
import type { Clock, TenantId } from "../stores/types.js";
import { sweepOffline } from "./evaluator.js";
import type { AlarmsStore } from "./types.js";

export const OFFLINE_SWEEP_LOCK_KEY = "firebrick:alarms-offline-sweep";

/** How often the offline rules are judged: an offline alarm is raised at most this late. */
export const OFFLINE_SWEEP_INTERVAL_MS = 15_000;

/**
 * Starts the offline sweep (docs/design/alarms.md): every `intervalMs`, the instance that gets the lock
 * judges every offline rule, writing the lock's fencing token with each transition.
 *
 * @example
 * const job = startOfflineSweep({ alarms, lastSeen, runExclusive: runUnderLock(lock, { key: OFFLINE_SWEEP_LOCK_KEY }), clock });
 */
export function startOfflineSweep(options: {
  alarms: AlarmsStore;
  lastSeen(tenant: TenantId, deviceId: string): Promise<number | null>;
  runExclusive: RunExclusive;
  clock: Clock;
  intervalMs?: number;
  onError?: (error: unknown) => void;
}): PeriodicJob {
  return every(
    options.intervalMs ?? OFFLINE_SWEEP_INTERVAL_MS,
    () =>
      options.runExclusive(async ({ fence }) => {
        await sweepOffline({
          alarms: options.alarms,
          lastSeen: options.lastSeen,
          fence,
          now: options.clock(),
        });
      }),
    options.onError,
  );
}
