import type { DocumentData, DocumentReference, Firestore } from "@google-cloud/firestore";
import { checkAborted } from "../common/abort.js";
import { LockError } from "../common/errors.js";
import { compareFences } from "../common/fence.js";
import { withErrorMapping } from "./errors.js";

const FENCE_PATTERN = /^\d{15}$/;

export interface FencedWriteOptions {
  /** The field of the protected document that holds the fence of its last writer (default `_fence`). */
  fenceField?: string;
  /** Merge into the document instead of replacing it (default false). */
  merge?: boolean;
  signal?: AbortSignal;
}

export type FencedWriteResult = { ok: true } | { ok: false; reason: "stale-fence"; currentFence: string };

/**
 * Writes a protected document only if no newer fence has written it: the resource side of fencing. A
 * holder that lost its lock (paused past its TTL, or its clock ran ahead) carries an older fence than the
 * new holder, so its late write is rejected instead of overwriting newer data. Equal fences pass: one
 * holder may write many times.
 *
 * `data` may be a function of the current document, evaluated inside the transaction.
 *
 * @example
 * const result = await fencedWrite(db, db.doc("jobs/backfill"), lock.fence, { cursor });
 * if (!result.ok) throw new Error("lost the lock: a newer holder has written");
 */
export async function fencedWrite(
  db: Firestore,
  ref: DocumentReference,
  fence: string,
  data: DocumentData | ((current: DocumentData | undefined) => DocumentData),
  options: FencedWriteOptions = {},
): Promise<FencedWriteResult> {
  if (typeof fence !== "string" || !FENCE_PATTERN.test(fence)) {
    throw new LockError("InvalidArgument", "fence must be a 15-digit fence token");
  }
  const fenceField = options.fenceField ?? "_fence";
  const { signal } = options;
  checkAborted(signal);
  return withErrorMapping(() =>
    db.runTransaction(async (trx): Promise<FencedWriteResult> => {
      checkAborted(signal);
      const snapshot = await trx.get(ref);
      checkAborted(signal);
      const current = snapshot.data();
      const stored = current?.[fenceField];
      if (typeof stored === "string" && FENCE_PATTERN.test(stored) && compareFences(fence, stored) < 0) {
        return { ok: false, reason: "stale-fence", currentFence: stored };
      }
      const next = typeof data === "function" ? data(current) : data;
      checkAborted(signal);
      trx.set(ref, { ...next, [fenceField]: fence }, { merge: options.merge ?? false });
      return { ok: true };
    }),
  );
}
