import { compareFences } from "@firebrick/lock";
import { fencedWrite } from "@firebrick/lock/firestore";
import type { Firestore } from "@google-cloud/firestore";
import type { SqliteDatabase } from "../storage/sqlite.js";
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

/**
 * Checkpoints in SQLite (`job_checkpoints`), for jobs that run without Firestore (`firebrick rollups
 * rebuild` on the embedded store), fenced like the Firestore ones: the write and the fence check are one
 * transaction, and a lower fence than the stored one is refused.
 */
export function sqliteCheckpoints(db: SqliteDatabase): CheckpointStore {
  const read = db.prepare<[string], { fence: string; checkpoint: string | null }>(
    "SELECT fence, checkpoint FROM job_checkpoints WHERE job = ?",
  );
  const upsert = db.prepare<[string, string, string | null, number]>(
    `INSERT INTO job_checkpoints (job, fence, checkpoint, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (job) DO UPDATE SET fence = excluded.fence, checkpoint = excluded.checkpoint,
       updated_at = excluded.updated_at`,
  );
  const write = db.transaction((job: string, fence: string, checkpoint: Checkpoint | null) => {
    const current = read.get(job);
    if (current && compareFences(current.fence, fence) > 0) {
      throw new StaleRunnerError(
        `job ${job} is held by a newer runner (fence ${current.fence} > ${fence}); stopping`,
      );
    }
    upsert.run(job, fence, checkpoint && JSON.stringify(checkpoint), Date.now());
  });
  return {
    async load(job) {
      const text = read.get(job)?.checkpoint;
      return text ? (JSON.parse(text) as Checkpoint) : null;
    },
    save: async (job, checkpoint, fence) => write(job, fence, checkpoint),
    clear: async (job, fence) => write(job, fence, null),
  };
}
