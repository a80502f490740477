import { checkAborted } from "../../common/abort.js";
import { isLive, TIME_TOLERANCE_MS } from "../../common/time-predicates.js";
import type { KeyOp } from "../../common/types.js";
import { normalizeAndValidateKey } from "../../common/validation.js";
import type { FirestoreContext } from "../config.js";
import { deleteIfUnchanged, isLockDocument, lockRef } from "../documents.js";
import { withErrorMapping } from "../errors.js";
import { OperationTime } from "../time.js";

/**
 * Whether `key` is held by a live lock: one read by document id, judged at its decision instant. Pure by
 * default; with `cleanupInIsLocked` an expired lock document it sees is deleted in the background
 * (fire-and-forget, conditioned on the document being unchanged since this read; only the lock document,
 * never the fence counter).
 */
export async function isLocked(ctx: FirestoreContext, opts: KeyOp): Promise<boolean> {
  const key = normalizeAndValidateKey(opts.key);
  checkAborted(opts.signal);
  return withErrorMapping(async () => {
    const ref = lockRef(ctx, key);
    const time = new OperationTime(ctx);
    const snapshot = await ref.get();
    checkAborted(opts.signal);
    const data = snapshot.data();
    if (!isLockDocument(data)) return false;
    const live = isLive(data.expiresAtMs, time.decide(snapshot.readTime), TIME_TOLERANCE_MS);
    if (!live && ctx.cleanupInIsLocked && snapshot.updateTime) {
      void deleteIfUnchanged(ctx, ref, snapshot.updateTime).catch(() => false);
    }
    return live;
  });
}
