import { createLock, LockError, type LockFunction, type TimeAuthority } from "@firebrick/lock";
import type { Firestore } from "@google-cloud/firestore";
import type { OpenedStores } from "../runtime/open-stores.js";
import { serviceLocks } from "../runtime/service-locks.js";
import { firestoreCheckpoints, sqliteCheckpoints } from "./checkpoints.js";
import type { CompareReport } from "./compare.js";
import type { CheckpointStore, JobGuard } from "./job.js";

/** Another run of the job holds its lock: this one does not start (the CLI says so and exits 1). */
export class JobAlreadyRunningError extends Error {
  override name = "JobAlreadyRunningError";
  constructor(readonly job: string) {
    super(`job ${job} is already running elsewhere (its lock is held); not starting a second run`);
  }
}

/**
 * Jobs that write to Firestore are guarded by a lock of the service's own lock backend on that Firestore
 * (`job:<name>`, auto-extended while the job runs) and checkpoint into Firestore with the lock's fence.
 */
export function firestoreJobRuntime(
  db: Firestore,
  options: { lockTtlMs?: number; timeAuthority?: TimeAuthority } = {},
): { guard: JobGuard; checkpoints: CheckpointStore } {
  const guard = lockGuard(
    () => serviceLocks({ firestore: db }, { timeAuthority: options.timeAuthority ?? "server" }),
    options.lockTtlMs,
  );
  return { guard, checkpoints: firestoreCheckpoints(db) };
}

/**
 * Jobs on the stores the server uses (`firebrick rollups rebuild`): the service's lock backend and
 * checkpoints in Firestore when it is configured, else both in the SQLite file.
 */
export function serviceJobRuntime(
  opened: Pick<OpenedStores, "sqlite" | "firestore">,
  options: { lockTtlMs?: number; timeAuthority?: TimeAuthority } = {},
): { guard: JobGuard; checkpoints: CheckpointStore } {
  const guard = lockGuard(
    () => serviceLocks(opened, { timeAuthority: options.timeAuthority ?? "server" }),
    options.lockTtlMs,
  );
  const checkpoints = opened.firestore
    ? firestoreCheckpoints(opened.firestore)
    : sqliteCheckpoints(opened.sqlite);
  return { guard, checkpoints };
}

function lockGuard(locks: () => ReturnType<typeof serviceLocks>, lockTtlMs?: number): JobGuard {
  // Made on first use: serviceLocks loads the lock's Firestore backend then.
  let lock: Promise<LockFunction> | undefined;
  return async (job, fn) => {
    lock ??= locks().then(({ backend }) => createLock(backend));
    try {
      return await (await lock)(({ fence, signal }) => fn({ fence, signal }), {
        key: `job:${job}`,
        // After a crash the next run waits this long for the lock: short enough to resume promptly,
        // long enough that a heartbeat every third of it survives a slow write.
        ttlMs: lockTtlMs ?? 30_000,
        autoExtend: true,
        acquisition: { maxRetries: 0 },
      });
    } catch (error) {
      if (error instanceof LockError && error.code === "AcquisitionTimeout") {
        throw new JobAlreadyRunningError(job);
      }
      throw error;
    }
  };
}

/** Remembers the last comparison, for the telemetry read flip's gate. */
export async function recordCompareResult(db: Firestore, report: CompareReport): Promise<void> {
  await db.collection("migration_jobs").doc("compare-telemetry").set({
    green: report.green,
    mismatched: report.mismatched,
    sampled_series: report.sampled_series,
    at: Date.now(),
  });
}

/** The last comparison's verdict, or null if none was run. */
export async function lastCompareResult(db: Firestore): Promise<{ green: boolean; at: number } | null> {
  const snapshot = await db.collection("migration_jobs").doc("compare-telemetry").get();
  return snapshot.exists ? { green: snapshot.get("green") === true, at: snapshot.get("at") as number } : null;
}
