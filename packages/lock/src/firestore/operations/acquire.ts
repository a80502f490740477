import type {
  DocumentData,
  DocumentReference,
  DocumentSnapshot,
  Precondition,
} from "@google-cloud/firestore";
import { checkAborted } from "../../common/abort.js";
import { generateLockId } from "../../common/crypto.js";
import { nextFence, parseFence } from "../../common/fence.js";
import { isLive, TIME_TOLERANCE_MS } from "../../common/time-predicates.js";
import type { AcquireResult, FirestoreCapabilities, KeyOp } from "../../common/types.js";
import { normalizeAndValidateKey, validateTtlMs } from "../../common/validation.js";
import type { FirestoreContext } from "../config.js";
import { commitIfUnchanged, fenceRef, isLockDocument, lockRef } from "../documents.js";
import { withErrorMapping } from "../errors.js";
import { OperationTime } from "../time.js";
import type { LockDocument } from "../types.js";

type Result = AcquireResult<FirestoreCapabilities>;

/** What acquire stages its writes on: a transaction (both kinds of acquire commit through one). */
interface Writes {
  set(ref: DocumentReference, data: DocumentData): unknown;
  create(ref: DocumentReference, data: DocumentData): unknown;
  update(ref: DocumentReference, data: DocumentData, precondition: Precondition): unknown;
}

/**
 * Acquires `key` for `ttlMs`: one lock document and one fence counter change together, in one commit, the
 * fence incremented in BigInt arithmetic (the counter is written, never deleted). The expiry is computed from
 * the decision instant of the snapshot the commit rests on: Firestore's read time with server time, this
 * client's clock read after the read with client time (ADR-010, docs/adr/ADR-010-authoritative-expiry.md).
 *
 * Both modes start with a plain read of the lock document: if it is live, the answer is `locked` at once,
 * without a transaction, so a contended attempt costs one read and never queues behind transaction locks.
 *
 * - `optimistic` (default): the lock document and the fence counter are read together without a
 *   transaction; the commit then only writes, each write conditioned on the document being exactly as read
 *   (`create` if it was absent, `update` with `lastUpdateTime` otherwise). A concurrent acquirer makes the
 *   commit fail its precondition, which answers `locked`. No read locks are taken, so racing acquirers cannot
 *   stall each other (ADR-018, docs/adr/ADR-018-conditional-writes.md).
 * - `pessimistic`: the lock spec's reference pattern: a transaction reads both documents (all reads before
 *   writes), re-checks liveness and writes.
 */
export async function acquire(ctx: FirestoreContext, opts: KeyOp & { ttlMs: number }): Promise<Result> {
  const key = normalizeAndValidateKey(opts.key);
  const ttlMs = validateTtlMs(opts.ttlMs);
  const { signal } = opts;
  checkAborted(signal);
  const lockDoc = lockRef(ctx, key) as DocumentReference;
  const fenceDoc = fenceRef(ctx, key) as DocumentReference;
  const time = new OperationTime(ctx);

  /** Decides from the two snapshots and stages the writes; `locked` when the lock is live. */
  const stage = (
    writes: Writes,
    lockSnap: DocumentSnapshot | undefined,
    fenceSnap: DocumentSnapshot | undefined,
    conditional: boolean,
  ): Result => {
    const nowMs = time.decide(lockSnap?.readTime);
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
      writeIfUnchanged(writes, fenceDoc, fenceSnap, { fence, keyDebug: key });
      writeIfUnchanged(writes, lockDoc, lockSnap, document as unknown as DocumentData);
    } else {
      writes.set(fenceDoc, { fence, keyDebug: key });
      writes.set(lockDoc, document);
    }
    return { ok: true, lockId, expiresAtMs: time.forCaller(expiresAtMs), fence };
  };

  /** The plain first read's verdict: `locked` if it shows a live lock (the transaction is skipped). */
  const shownLive = (lockSnap: DocumentSnapshot | undefined): boolean => {
    const seen = lockSnap?.data();
    return (
      isLockDocument(seen) && isLive(seen.expiresAtMs, time.decide(lockSnap?.readTime), TIME_TOLERANCE_MS)
    );
  };

  return withErrorMapping(async (): Promise<Result> => {
    if (ctx.concurrency === "pessimistic") {
      const current = await lockDoc.get();
      checkAborted(signal);
      if (shownLive(current)) return { ok: false, reason: "locked" };
      return ctx.db.runTransaction(async (trx) => {
        checkAborted(signal);
        const [lockSnap, fenceSnap] = await trx.getAll(lockDoc, fenceDoc);
        checkAborted(signal);
        return stage(trx, lockSnap, fenceSnap, false);
      });
    }

    const [lockSnap, fenceSnap] = await ctx.db.getAll(lockDoc, fenceDoc);
    checkAborted(signal);
    if (shownLive(lockSnap)) return { ok: false, reason: "locked" };
    // Both writes in one commit, each conditioned on its document being as read; a lost race answers
    // `locked`, never a retry (commitIfUnchanged, ADR-018).
    const committed = await commitIfUnchanged(ctx, (writes) => stage(writes, lockSnap, fenceSnap, true));
    return committed ?? { ok: false, reason: "locked" };
  });
}

/** Creates the document if the snapshot saw none, else updates it only if nobody wrote it since. */
function writeIfUnchanged(
  writes: Writes,
  ref: DocumentReference,
  seen: DocumentSnapshot | undefined,
  data: DocumentData,
): void {
  if (!seen?.exists || !seen.updateTime) {
    writes.create(ref, data);
  } else {
    writes.update(ref, data, { lastUpdateTime: seen.updateTime });
  }
}
