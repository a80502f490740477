import type { DocumentData, DocumentReference } from "@google-cloud/firestore";
import { checkAborted } from "../../common/abort.js";
import { generateLockId } from "../../common/crypto.js";
import { nextFence, parseFence } from "../../common/fence.js";
import { isLive, TIME_TOLERANCE_MS } from "../../common/time-predicates.js";
import type { AcquireResult, FirestoreCapabilities, KeyOp } from "../../common/types.js";
import { normalizeAndValidateKey, validateTtlMs } from "../../common/validation.js";
import type { FirestoreContext } from "../config.js";
import { fenceRef, isLockDocument, lockRef } from "../documents.js";
import { withErrorMapping } from "../errors.js";
import type { LockDocument } from "../types.js";

type Result = AcquireResult<FirestoreCapabilities>;

/**
 * Acquires `key` for `ttlMs`.
 *
 * 1. A plain read of the lock document: if it is live, answer `locked` at once. A contended attempt then
 *    costs one read and never queues behind transaction locks (SPEC.md §2, §10).
 * 2. Otherwise one transaction reads the lock document and the fence counter (all reads before writes),
 *    re-checks liveness with `Date.now()` taken inside the transaction, increments the fence in BigInt
 *    arithmetic, and writes the counter and the lock document. The counter is written, never deleted.
 */
export async function acquire(ctx: FirestoreContext, opts: KeyOp & { ttlMs: number }): Promise<Result> {
  const key = normalizeAndValidateKey(opts.key);
  const ttlMs = validateTtlMs(opts.ttlMs);
  const { signal } = opts;
  checkAborted(signal);
  const lockDoc = lockRef(ctx, key);
  const fenceDoc = fenceRef(ctx, key);

  return withErrorMapping(async () => {
    const current = await lockDoc.get();
    checkAborted(signal);
    const seen = current.data();
    if (isLockDocument(seen) && isLive(seen.expiresAtMs, ctx.now(), TIME_TOLERANCE_MS)) {
      return { ok: false, reason: "locked" } satisfies Result;
    }

    return ctx.db.runTransaction(async (trx): Promise<Result> => {
      checkAborted(signal);
      const [lockSnap, fenceSnap] = await trx.getAll<DocumentData, DocumentData>(
        lockDoc as DocumentReference,
        fenceDoc as DocumentReference,
      );
      checkAborted(signal);
      // Authoritative client time, captured inside the transaction (ADR-010).
      const nowMs = ctx.now();
      const existing = lockSnap?.data();
      if (isLockDocument(existing) && isLive(existing.expiresAtMs, nowMs, TIME_TOLERANCE_MS)) {
        return { ok: false, reason: "locked" };
      }
      const stored = fenceSnap?.exists ? fenceSnap.get("fence") : "0";
      const fence = nextFence(parseFence(stored), (message, value) =>
        ctx.logger.warn(message, { fence: value, collection: ctx.fenceCollection }),
      );
      const lockId = generateLockId();
      const expiresAtMs = nowMs + ttlMs;
      const document: LockDocument = { lockId, expiresAtMs, acquiredAtMs: nowMs, key, fence };
      checkAborted(signal);
      trx.set(fenceDoc, { fence, keyDebug: key });
      trx.set(lockDoc, document);
      return { ok: true, lockId, expiresAtMs, fence };
    });
  }).then((result) => {
    if (result.ok) ctx.hints.remember(result.lockId, lockDoc);
    return result;
  });
}
