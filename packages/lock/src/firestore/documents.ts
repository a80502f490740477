import type {
  DocumentReference,
  Query,
  QueryDocumentSnapshot,
  Timestamp,
  Transaction,
} from "@google-cloud/firestore";
import { hashKey } from "../common/crypto.js";
import { attachRawData, sanitizeLockInfo } from "../common/diagnostics.js";
import { LockError } from "../common/errors.js";
import { isLive, TIME_TOLERANCE_MS } from "../common/time-predicates.js";
import type { FirestoreCapabilities, LockInfo, LockListing } from "../common/types.js";
import { type FirestoreContext, fenceDocumentId, lockDocumentId } from "./config.js";
import { grpcStatusOf, isPreconditionFailure } from "./failures.js";
import type { OperationTime } from "./time.js";
import type { FenceCounterDocument, LockDocument } from "./types.js";

export function lockRef(ctx: FirestoreContext, key: string): DocumentReference<LockDocument> {
  return ctx.db.collection(ctx.collection).doc(lockDocumentId(key)) as DocumentReference<LockDocument>;
}

export function fenceRef(ctx: FirestoreContext, key: string): DocumentReference<FenceCounterDocument> {
  return ctx.db
    .collection(ctx.fenceCollection)
    .doc(fenceDocumentId(key)) as DocumentReference<FenceCounterDocument>;
}

/** Whether a stored lock document is well-formed; a malformed one is treated as absent. */
export function isLockDocument(data: unknown): data is LockDocument {
  const d = data as Partial<LockDocument> | undefined;
  return (
    typeof d?.lockId === "string" &&
    typeof d.expiresAtMs === "number" &&
    typeof d.acquiredAtMs === "number" &&
    typeof d.key === "string" &&
    typeof d.fence === "string"
  );
}

const FENCING: Pick<FirestoreCapabilities, "supportsFencing" | "timeAuthority"> = {
  supportsFencing: true,
  timeAuthority: "server",
};

/** The sanitized view of a lock document, its times on the caller's clock, the raw ids kept for `getBy*Raw`. */
export function toLockInfo(data: LockDocument, time: OperationTime): LockInfo<FirestoreCapabilities> {
  const info = sanitizeLockInfo(
    {
      key: data.key,
      lockId: data.lockId,
      expiresAtMs: time.forCaller(data.expiresAtMs),
      acquiredAtMs: time.forCaller(data.acquiredAtMs),
      fence: data.fence,
    },
    FENCING as FirestoreCapabilities,
  );
  return attachRawData(info, data);
}

export function toLockListing(data: LockDocument, time: OperationTime): LockListing<FirestoreCapabilities> {
  return { ...toLockInfo(data, time), key: data.key };
}

/** A lock document found by its lockId, with what a conditional write on it needs. */
export interface FoundLock {
  ref: DocumentReference<LockDocument>;
  data: LockDocument;
  updateTime: Timestamp;
}

/**
 * Finds the lock document of a lockId with a plain (non-transactional) query and fixes the operation's
 * decision instant at the query's read time. Every release, extend and lookup by lockId goes through here,
 * whichever instance acquired the lock, so duplicates are detected on every path (ADR-014,
 * docs/adr/ADR-014-duplicate-lockid-detection.md). A transactional query would lock a range and serialize
 * every release (ADR-018, docs/adr/ADR-018-conditional-writes.md); callers write back conditionally on the
 * document's update time instead.
 *
 * No `.limit(1)`, so that duplicates show. They cannot arise from this library (128-bit lockIds, one document
 * per key), so they mean outside interference: warn, delete the expired ones, and answer "not found" when
 * more than one is live rather than guess which one the caller owns.
 */
export async function findLockByLockId(
  ctx: FirestoreContext,
  lockId: string,
  time: OperationTime,
): Promise<FoundLock | null> {
  const docs = await matching(ctx.db.collection(ctx.collection).where("lockId", "==", lockId));
  const last = docs.at(-1);
  if (!last) return null;
  const nowMs = time.decide(last.readTime);
  const found: FoundLock[] = [];
  for (const doc of docs) {
    const data = doc.data();
    if (isLockDocument(data) && data.lockId === lockId) {
      found.push({ ref: doc.ref as DocumentReference<LockDocument>, data, updateTime: doc.updateTime });
    }
  }
  if (found.length <= 1) return found[0] ?? null;

  const live = found.filter((lock) => isLive(lock.data.expiresAtMs, nowMs, TIME_TOLERANCE_MS));
  ctx.logger.warn("Duplicate lock documents share one lockId", {
    lockIdHash: hashKey(lockId),
    count: found.length,
    live: live.length,
  });
  await Promise.all(
    found
      .filter((lock) => !live.includes(lock))
      .map((lock) => deleteIfUnchanged(ctx, lock.ref, lock.updateTime).catch(() => false)),
  );
  return live.length === 1 ? (live[0] ?? null) : null;
}

/**
 * Commits the writes `stage` puts on the transaction it is given, each conditioned by its own precondition
 * (`create`, or `update`/`delete` with `lastUpdateTime`), as one atomic commit; returns what `stage`
 * returned, or `undefined` when a precondition failed (the documents changed since they were read: a lost
 * race, answered by reading again, never by retrying the same write).
 *
 * A transaction that only writes: the SDK sends it as a single Commit without a transaction id (no read
 * locks), and with one attempt it never retries on its own. Unlike `WriteBatch.commit()`, it also formats no
 * call stack per commit, which costs more than the commit's own client work when source-mapped stack
 * traces are on (ADR-018, docs/adr/ADR-018-conditional-writes.md, "Where a cycle's time goes").
 */
export async function commitIfUnchanged<T>(
  ctx: FirestoreContext,
  stage: (writes: Transaction) => T,
): Promise<T | undefined> {
  try {
    return await ctx.db.runTransaction(async (writes) => stage(writes), { maxAttempts: 1 });
  } catch (error) {
    if (isPreconditionFailure(error)) return undefined;
    throw error;
  }
}

/**
 * The documents a query matches, read through `stream()` rather than `get()`: the same single RunQuery, but
 * `get()` formats a call stack on every call, which with source-mapped stack traces on costs more client CPU
 * than the rest of the query (ADR-018, "Where a cycle's time goes"). Every document carries the read time
 * of the response that brought it; the last one's is the query's decision instant (the earlier documents
 * are guaranteed unchanged up to it).
 */
async function matching(query: Query): Promise<QueryDocumentSnapshot[]> {
  const docs: QueryDocumentSnapshot[] = [];
  // Typed as a plain ReadableStream; it yields the query's document snapshots.
  for await (const doc of query.stream()) docs.push(doc as unknown as QueryDocumentSnapshot);
  return docs;
}

/**
 * Deletes a lock document if nobody wrote it since the read that saw it at `updateTime`. Returns false when
 * it did not happen (the document changed, or contention aborted the commit): the caller reads again.
 * Never used on fence counters.
 */
export async function deleteIfUnchanged(
  ctx: FirestoreContext,
  ref: DocumentReference<LockDocument>,
  updateTime: Timestamp,
): Promise<boolean> {
  return writeOnceOrReread(ctx, (writes) => writes.delete(ref, { lastUpdateTime: updateTime }));
}

/** Sets the lock document's expiry if nobody wrote it since `updateTime`; false when it did not happen. */
export async function setExpiryIfUnchanged(
  ctx: FirestoreContext,
  ref: DocumentReference<LockDocument>,
  updateTime: Timestamp,
  expiresAtMs: number,
): Promise<boolean> {
  return writeOnceOrReread(ctx, (writes) =>
    writes.update(ref, { expiresAtMs }, { lastUpdateTime: updateTime }),
  );
}

/**
 * One conditional write of a lock document; false when it did not happen and the document must be read
 * again. `ABORTED` (contention, nothing written) counts as such: a fresh read, not a blind retry of the same
 * write, is what the next attempt needs.
 */
async function writeOnceOrReread(
  ctx: FirestoreContext,
  stage: (writes: Transaction) => unknown,
): Promise<boolean> {
  try {
    const committed = await commitIfUnchanged(ctx, (writes) => {
      stage(writes);
      return true;
    });
    return committed ?? false;
  } catch (error) {
    if (grpcStatusOf(error) === "ABORTED") return false;
    throw error;
  }
}

/**
 * How many times a release, extend or force-release re-reads a lock document that changed between its read
 * and its conditional write (its owner extending it at the same moment, say) before giving up.
 */
const MAX_REREADS = 5;

/**
 * Runs `attempt` (read, decide, write conditionally) until it settles: `undefined` means its precondition
 * failed and the document must be read again. Past `MAX_REREADS` the document is changing faster than it can
 * be read: a transient `ServiceUnavailable`, which `lock()` retries.
 */
export async function untilSettled<T>(attempt: () => Promise<T | undefined>): Promise<T> {
  for (let round = 1; round <= MAX_REREADS; round++) {
    const outcome = await attempt();
    if (outcome !== undefined) return outcome;
  }
  throw new LockError("ServiceUnavailable", "The lock document kept changing under a conditional write");
}
