import type { DocumentReference } from "@google-cloud/firestore";
import { checkAborted } from "../../common/abort.js";
import { isLive, TIME_TOLERANCE_MS } from "../../common/time-predicates.js";
import type { ExtendResult, LockOp } from "../../common/types.js";
import { validateLockId, validateTtlMs } from "../../common/validation.js";
import type { FirestoreContext } from "../config.js";
import { findLockByLockId, isLockDocument } from "../documents.js";
import { withErrorMapping } from "../errors.js";
import type { LockDocument } from "../types.js";

/**
 * Resets the TTL of the lock held by `lockId` to `ttlMs` from now (reset, not add), if it is still live.
 * Finds the document (hint or query) and runs the transaction as in `release`; the new `expiresAtMs` is computed from `Date.now()` captured
 * inside the transaction and returned, so that heartbeats schedule on the stored value (ADR-010).
 */
export async function extend(ctx: FirestoreContext, opts: LockOp & { ttlMs: number }): Promise<ExtendResult> {
  const lockId = validateLockId(opts.lockId);
  const ttlMs = validateTtlMs(opts.ttlMs);
  const { signal } = opts;
  checkAborted(signal);
  return withErrorMapping(async () => {
    let ref = ctx.hints.get(lockId) as DocumentReference<LockDocument> | undefined;
    if (!ref) {
      const found = await findLockByLockId(ctx, lockId);
      checkAborted(signal);
      if (!found) return { ok: false };
      ref = found.ref as DocumentReference<LockDocument>;
    }
    const target = ref;
    const result = await ctx.db.runTransaction(async (trx): Promise<ExtendResult> => {
      checkAborted(signal);
      const snapshot = await trx.get(target);
      checkAborted(signal);
      const nowMs = ctx.now();
      const data = snapshot.data();
      if (!isLockDocument(data)) return { ok: false };
      if (data.lockId !== lockId) return { ok: false };
      if (!isLive(data.expiresAtMs, nowMs, TIME_TOLERANCE_MS)) return { ok: false };
      const expiresAtMs = nowMs + ttlMs;
      checkAborted(signal);
      trx.update(target, { expiresAtMs });
      return { ok: true, expiresAtMs };
    });
    if (!result.ok) ctx.hints.forget(lockId);
    return result;
  });
}
