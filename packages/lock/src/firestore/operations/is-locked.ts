import { checkAborted } from "../../common/abort.js";
import { isLive, TIME_TOLERANCE_MS } from "../../common/time-predicates.js";
import type { KeyOp } from "../../common/types.js";
import { normalizeAndValidateKey } from "../../common/validation.js";
import type { FirestoreContext } from "../config.js";
import { deleteIfExpired, isLockDocument, lockRef } from "../documents.js";
import { withErrorMapping } from "../errors.js";

/**
 * Whether `key` is held by a live lock: one read by document id. Pure by default; with
 * `cleanupInIsLocked` an expired lock document it sees is deleted in the background (fire-and-forget,
 * re-checked in a transaction; only the lock document, never the fence counter).
 */
export async function isLocked(ctx: FirestoreContext, opts: KeyOp): Promise<boolean> {
  const key = normalizeAndValidateKey(opts.key);
  checkAborted(opts.signal);
  return withErrorMapping(async () => {
    const ref = lockRef(ctx, key);
    const snapshot = await ref.get();
    checkAborted(opts.signal);
    const data = snapshot.data();
    if (!isLockDocument(data)) return false;
    const live = isLive(data.expiresAtMs, ctx.now(), TIME_TOLERANCE_MS);
    if (!live && ctx.cleanupInIsLocked) {
      void deleteIfExpired(ctx, ref, data.lockId).catch(() => {});
    }
    return live;
  });
}
