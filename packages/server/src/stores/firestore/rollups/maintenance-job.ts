import type { Firestore } from "@google-cloud/firestore";
import { every, type PeriodicJob } from "../../../runtime/periodic.js";
import type { RunExclusive } from "../../../sessions/sweeper.js";
import type { Clock, TenantZone } from "../../types.js";
import type { UsageRecorder } from "../../usage.js";
import { createFirestoreRollupMaintenance } from "../index.js";

export const ROLLUP_LOCK_KEY = "firebrick:firestore-rollups";

export interface RollupMaintenanceJobOptions {
  firestore: Firestore;
  clock: Clock;
  usage: UsageRecorder;
  timeZoneOf(tenant: string): Promise<TenantZone>;
  /** One instance of the fleet at a time (the service lock). */
  runExclusive: RunExclusive;
  intervalMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Runs the Firestore rollup maintenance (repair of lapsed intents, folding quiet days into months) every
 * minute under the service lock, until stopped. Runs even while telemetry is routed to SQLite: intents and
 * days written before a cutover back still need it, and a pass that finds nothing costs one read a query.
 */
export function startRollupMaintenanceJob(options: RollupMaintenanceJobOptions): PeriodicJob {
  const maintenance = createFirestoreRollupMaintenance(options.firestore, {
    clock: options.clock,
    usage: options.usage,
    timeZoneOf: options.timeZoneOf,
  });
  return every(
    options.intervalMs ?? 60_000,
    () =>
      options.runExclusive(async () => {
        await maintenance.runOnce();
      }),
    options.onError,
  );
}
