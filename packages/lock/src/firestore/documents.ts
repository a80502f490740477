import type { DocumentReference, QueryDocumentSnapshot } from "@google-cloud/firestore";
import { hashKey } from "../common/crypto.js";
import { isLive, TIME_TOLERANCE_MS } from "../common/time-predicates.js";
import type { FirestoreCapabilities, LockInfo, LockListing } from "../common/types.js";
import { type FirestoreContext, fenceDocumentId, lockDocumentId } from "./config.js";
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

export function toLockInfo(data: LockDocument): LockInfo<FirestoreCapabilities> {
  return {
    keyHash: hashKey(data.key),
    lockIdHash: hashKey(data.lockId),
    expiresAtMs: data.expiresAtMs,
    acquiredAtMs: data.acquiredAtMs,
    fence: data.fence,
  };
}

export function toLockListing(data: LockDocument): LockListing<FirestoreCapabilities> {
  return { ...toLockInfo(data), key: data.key };
}

/**
 * Finds the lock document of a lockId with a plain (non-transactional) query: a transactional query locks
 * a range and serializes every release (SPEC.md §2, scalability deviation). Callers re-read the document
 * by id inside a transaction and re-check ownership there.
 *
 * No `.limit(1)`, so that duplicates show (ADR-014). They cannot arise from this library (128-bit lockIds,
 * one document per key), so they mean outside interference: warn, delete the expired ones, and answer
 * "not found" when more than one is live rather than guess which one the caller owns.
 */
export async function findLockByLockId(
  ctx: FirestoreContext,
  lockId: string,
): Promise<QueryDocumentSnapshot<LockDocument> | null> {
  const snapshot = await ctx.db.collection(ctx.collection).where("lockId", "==", lockId).get();
  const docs = snapshot.docs.filter(
    (doc) => isLockDocument(doc.data()) && doc.get("lockId") === lockId,
  ) as QueryDocumentSnapshot<LockDocument>[];
  if (docs.length <= 1) return docs[0] ?? null;

  const nowMs = ctx.now();
  const live = docs.filter((doc) => isLive(doc.data().expiresAtMs, nowMs, TIME_TOLERANCE_MS));
  ctx.logger.warn("Duplicate lock documents share one lockId", {
    lockIdHash: hashKey(lockId),
    count: docs.length,
    live: live.length,
  });
  await Promise.all(
    docs
      .filter((doc) => !live.includes(doc))
      .map((doc) => deleteIfExpired(ctx, doc.ref as DocumentReference<LockDocument>, lockId).catch(() => {})),
  );
  return live.length === 1 ? (live[0] ?? null) : null;
}

/** Deletes a lock document if it still belongs to `lockId` and is expired; never touches fence counters. */
export async function deleteIfExpired(
  ctx: FirestoreContext,
  ref: DocumentReference<LockDocument>,
  lockId: string,
): Promise<void> {
  await ctx.db.runTransaction(async (trx) => {
    const snap = await trx.get(ref);
    const data = snap.data();
    if (!isLockDocument(data) || data.lockId !== lockId) return;
    if (isLive(data.expiresAtMs, ctx.now(), TIME_TOLERANCE_MS)) return;
    trx.delete(ref);
  });
}
