import { fencedWrite } from "@firebrick/lock/firestore";
import type { Firestore } from "@google-cloud/firestore";
import type { Checkpoint, CheckpointStore } from "./job.js";

/** A newer runner (a higher fence) has written this checkpoint: this runner must stop. */
export class StaleRunnerError extends Error {
  override name = "StaleRunnerError";
}

/**
 * Checkpoints in Firestore (`migration_jobs/{job}`), written with the lock library's fenced write: a
 * runner whose lock expired while it was paused cannot move the checkpoint of the runner that took over.
 * The checkpoint is stored as JSON text, so that a cursor round-trips exactly.
 */
export function firestoreCheckpoints(db: Firestore, collection = "migration_jobs"): CheckpointStore {
  const ref = (job: string) => db.collection(collection).doc(job);
  const write = async (job: string, fence: string, checkpoint: Checkpoint | null) => {
    const result = await fencedWrite(db, ref(job), fence, {
      checkpoint: checkpoint && JSON.stringify(checkpoint),
      updated_at: Date.now(),
    });
    if (!result.ok) {
      throw new StaleRunnerError(
        `job ${job} is held by a newer runner (fence ${result.currentFence} > ${fence}); stopping`,
      );
    }
  };
  return {
    async load(job) {
      const text = (await ref(job).get()).get("checkpoint") as string | null | undefined;
      return text ? (JSON.parse(text) as Checkpoint) : null;
    },
    save: (job, checkpoint, fence) => write(job, fence, checkpoint),
    clear: (job, fence) => write(job, fence, null),
  };
}
