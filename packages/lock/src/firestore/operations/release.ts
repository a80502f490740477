import type { DocumentReference } from "@google-cloud/firestore";
import { checkAborted } from "../../common/abort.js";
import { isLive, TIME_TOLERANCE_MS } from "../../common/time-predicates.js";
import type { LockOp, ReleaseResult } from "../../common/types.js";
import { validateLockId } from "../../common/validation.js";
import type { FirestoreContext } from "../config.js";
import { findLockByLockId, isLockDocument } from "../documents.js";
import { withErrorMapping } from "../errors.js";
import type { LockDocument } from "../types.js";

/**
 * Releases the lock held by `lockId`.
 *
 * The document is the one this backend's acquire created (a `LockIdHints` entry), or else is found by a
 * plain query on the `lockId` index (no `.limit(1)`; duplicates are detected),
 * then a transaction reads that one document by id and deletes it only if it still carries this lockId
 * (explicit ownership check, ADR-003) and is live by `Date.now()` taken inside the transaction. No query
 * runs inside the transaction, so releases of different keys never wait for each other.
 */
export async function release(ctx: FirestoreContext, opts: LockOp): Promise<ReleaseResult> {
  const lockId = validateLockId(opts.lockId);
  const { signal } = opts;
  checkAborted(signal);
  return withErrorMapping(async () => {
    const hint = ctx.hints.get(lockId) as DocumentReference<LockDocument> | undefined;
    if (hint) {
      ctx.hints.forget(lockId);
      return releaseDocument(ctx, hint, lockId, signal);
    }
    const found = await findLockByLockId(ctx, lockId);
    checkAborted(signal);
    if (!found) return { ok: false };
    return releaseDocument(ctx, found.ref as DocumentReference<LockDocument>, lockId, signal);
  });
}

export function releaseDocument(
  ctx: FirestoreContext,
  ref: DocumentReference<LockDocument>,
  lockId: string,
  signal: AbortSignal | undefined,
): Promise<ReleaseResult> {
  return ctx.db.runTransaction(async (trx): Promise<ReleaseResult> => {
    checkAborted(signal);
    const snapshot = await trx.get(ref);
    checkAborted(signal);
    const nowMs = ctx.now();
    const data = snapshot.data();
    if (!isLockDocument(data)) return { ok: false };
    if (data.lockId !== lockId) return { ok: false };
    if (!isLive(data.expiresAtMs, nowMs, TIME_TOLERANCE_MS)) return { ok: false };
    checkAborted(signal);
    trx.delete(ref);
    return { ok: true };
  });
}
