import type { Firestore } from "@google-cloud/firestore";
import type { Checkpoint, CheckpointStore } from "./job.js";

/** A newer runner (a higher fence) has written this checkpoint: this runner must stop. */
export class StaleRunnerError extends Error {
  override name = "StaleRunnerError";
}

/**
 * Checkpoints in Firestore (`migration_jobs/{job}`), written in a transaction that compares fences:
 * a runner whose lock expired while it was paused cannot move the checkpoint of the runner that took
 * over. Fences are 15-digit zero-padded strings, so they compare as strings.
 */
export function firestoreCheckpoints(db: Firestore, collection = "migration_jobs"): CheckpointStore {
  const ref = (job: string) => db.collection(collection).doc(job);
  const fencedWrite = (job: string, fence: string, data: Record<string, unknown> | null) =>
    db.runTransaction(async (tx) => {
      const snapshot = await tx.get(ref(job));
      const stored = snapshot.get("fence") as string | undefined;
      if (stored !== undefined && stored > fence) {
        throw new StaleRunnerError(`job ${job} is held by a newer runner (fence ${stored} > ${fence})`);
      }
      if (data === null) tx.set(ref(job), { fence, checkpoint: null, updated_at: Date.now() });
      else tx.set(ref(job), { fence, checkpoint: JSON.stringify(data), updated_at: Date.now() });
    });
  return {
    async load(job) {
      const snapshot = await ref(job).get();
      const text = snapshot.get("checkpoint") as string | null | undefined;
      return text ? (JSON.parse(text) as Checkpoint) : null;
    },
    save: (job, checkpoint, fence) =>
      fencedWrite(job, fence, checkpoint as unknown as Record<string, unknown>),
    clear: (job, fence) => fencedWrite(job, fence, null),
  };
}
