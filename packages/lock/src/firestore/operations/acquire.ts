import type { DocumentData, DocumentReference, DocumentSnapshot, Transaction } from "@google-cloud/firestore";
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

/** gRPC codes of a failed write precondition: another acquirer changed the documents since we read them. */
const LOST_RACE = new Set([5 /* NOT_FOUND */, 6 /* ALREADY_EXISTS */, 9 /* FAILED_PRECONDITION */]);

/**
 * Acquires `key` for `ttlMs`: one lock document and one fence counter change together, in one transaction
 * commit, with `Date.now()` captured inside the transaction and the fence incremented in BigInt arithmetic.
 * The counter is written, never deleted.
 *
 * Both modes start with a plain read of the lock document: if it is live, the answer is `locked` at once,
 * without a transaction, so a contended attempt costs one read and never queues behind transaction locks.
 *
 * - `optimistic` (default): the lock document and the fence counter are read together without a
 *   transaction, and the transaction then only writes, each write conditioned on the document being exactly
 *   as read (`create` if it was absent, `update` with `lastUpdateTime` otherwise). A concurrent acquirer
 *   makes the commit fail its precondition, which answers `locked`. No read locks are taken, so racing
 *   acquirers cannot deadlock each other (on the emulator a pessimistic pile-up of 8 acquirers costs
 *   seconds per attempt).
 * - `pessimistic`: the seed spec's pattern: the transaction reads both documents (all reads before writes),
 *   re-checks liveness and writes.
 */
export async function acquire(ctx: FirestoreContext, opts: KeyOp & { ttlMs: number }): Promise<Result> {
  const key = normalizeAndValidateKey(opts.key);
  const ttlMs = validateTtlMs(opts.ttlMs);
  const { signal } = opts;
  checkAborted(signal);
  const lockDoc = lockRef(ctx, key) as DocumentReference;
  const fenceDoc = fenceRef(ctx, key) as DocumentReference;

  /** Decides from the two snapshots and stages the writes; `undefined` when the lock is live. */
  const stage = (
    trx: Transaction,
    lockSnap: DocumentSnapshot | undefined,
    fenceSnap: DocumentSnapshot | undefined,
    conditional: boolean,
  ): Result => {
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
    if (conditional) {
      writeIfUnchanged(trx, fenceDoc, fenceSnap, { fence, keyDebug: key });
      writeIfUnchanged(trx, lockDoc, lockSnap, document as unknown as DocumentData);
    } else {
      trx.set(fenceDoc, { fence, keyDebug: key });
      trx.set(lockDoc, document);
    }
    return { ok: true, lockId, expiresAtMs, fence };
  };

  const result = await withErrorMapping(async (): Promise<Result> => {
    if (ctx.concurrency === "pessimistic") {
      const current = await lockDoc.get();
      checkAborted(signal);
      const seen = current.data();
      if (isLockDocument(seen) && isLive(seen.expiresAtMs, ctx.now(), TIME_TOLERANCE_MS)) {
        return { ok: false, reason: "locked" };
      }
      return ctx.db.runTransaction(async (trx) => {
        checkAborted(signal);
        const [lockSnap, fenceSnap] = await trx.getAll(lockDoc, fenceDoc);
        checkAborted(signal);
        return stage(trx, lockSnap, fenceSnap, false);
      });
    }

    const [lockSnap, fenceSnap] = await ctx.db.getAll(lockDoc, fenceDoc);
    checkAborted(signal);
    const seen = lockSnap?.data();
    if (isLockDocument(seen) && isLive(seen.expiresAtMs, ctx.now(), TIME_TOLERANCE_MS)) {
      return { ok: false, reason: "locked" };
    }
    try {
      return await ctx.db.runTransaction(
        async (trx) => {
          checkAborted(signal);
          return stage(trx, lockSnap, fenceSnap, true);
        },
        { maxAttempts: 1 },
      );
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      if (typeof code === "number" && LOST_RACE.has(code)) return { ok: false, reason: "locked" };
      throw error;
    }
  });
  if (result.ok) ctx.hints.remember(result.lockId, lockDoc);
  return result;
}

/** Creates the document if the snapshot saw none, else updates it only if nobody wrote it since. */
function writeIfUnchanged(
  trx: Transaction,
  ref: DocumentReference,
  seen: DocumentSnapshot | undefined,
  data: DocumentData,
): void {
  if (!seen?.exists || !seen.updateTime) {
    trx.create(ref, data);
  } else {
    trx.update(ref, data, { lastUpdateTime: seen.updateTime });
  }
}
