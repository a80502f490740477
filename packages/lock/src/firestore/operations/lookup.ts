import { checkAborted } from "../../common/abort.js";
import { isLive, TIME_TOLERANCE_MS } from "../../common/time-predicates.js";
import type { FirestoreCapabilities, KeyLookup, LockInfo, OwnershipLookup } from "../../common/types.js";
import { normalizeAndValidateKey, validateLockId } from "../../common/validation.js";
import type { FirestoreContext } from "../config.js";
import { findLockByLockId, isLockDocument, lockRef, toLockInfo } from "../documents.js";
import { withErrorMapping } from "../errors.js";
import { OperationTime } from "../time.js";

/**
 * Diagnostic lookup by key (one read by id) or by lockId (an indexed query, no `.limit(1)`, ownership
 * re-checked). Returns sanitized `LockInfo` (hashes, never the raw key or lockId; times on the caller's
 * clock) for a live lock, else null. Inputs are validated before any I/O.
 */
export async function lookup(
  ctx: FirestoreContext,
  opts: KeyLookup | OwnershipLookup,
): Promise<LockInfo<FirestoreCapabilities> | null> {
  const time = new OperationTime(ctx);
  if ("key" in opts) {
    const key = normalizeAndValidateKey(opts.key);
    checkAborted(opts.signal);
    return withErrorMapping(async () => {
      const snapshot = await lockRef(ctx, key).get();
      checkAborted(opts.signal);
      const data = snapshot.data();
      if (!isLockDocument(data) || data.key !== key) return null;
      const nowMs = time.decide(snapshot.readTime);
      return isLive(data.expiresAtMs, nowMs, TIME_TOLERANCE_MS) ? toLockInfo(data, time) : null;
    });
  }
  const lockId = validateLockId((opts as OwnershipLookup).lockId);
  checkAborted(opts.signal);
  return withErrorMapping(async () => {
    const found = await findLockByLockId(ctx, lockId, time);
    checkAborted(opts.signal);
    if (!found || found.data.lockId !== lockId) return null;
    return isLive(found.data.expiresAtMs, time.decidedAtMs, TIME_TOLERANCE_MS)
      ? toLockInfo(found.data, time)
      : null;
  });
}
