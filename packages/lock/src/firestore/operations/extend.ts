import { checkAborted } from "../../common/abort.js";
import { refused } from "../../common/backend-semantics.js";
import { isLive, TIME_TOLERANCE_MS } from "../../common/time-predicates.js";
import type { ExtendResult, LockOp } from "../../common/types.js";
import { validateLockId, validateTtlMs } from "../../common/validation.js";
import type { FirestoreContext } from "../config.js";
import { findLockByLockId, setExpiryIfUnchanged, untilSettled } from "../documents.js";
import { withErrorMapping } from "../errors.js";
import { OperationTime } from "../time.js";

/**
 * Resets the TTL of the lock held by `lockId` to `ttlMs` from now (reset, not add), if it is still live.
 * Found and judged as in `release` (one query, duplicates detected on every path); the new expiry is the
 * query's decision instant plus `ttlMs`, written only if the document is unchanged since that read, and
 * returned on the caller's clock for heartbeat scheduling (ADR-010, docs/adr/ADR-010-authoritative-expiry.md).
 */
export async function extend(ctx: FirestoreContext, opts: LockOp & { ttlMs: number }): Promise<ExtendResult> {
  const lockId = validateLockId(opts.lockId);
  const ttlMs = validateTtlMs(opts.ttlMs);
  const { signal } = opts;
  checkAborted(signal);
  return withErrorMapping(() =>
    untilSettled(async (): Promise<ExtendResult | undefined> => {
      const time = new OperationTime(ctx);
      const found = await findLockByLockId(ctx, lockId, time);
      checkAborted(signal);
      if (!found || found.data.lockId !== lockId) return refused("not-found");
      const nowMs = time.decidedAtMs;
      if (!isLive(found.data.expiresAtMs, nowMs, TIME_TOLERANCE_MS)) return refused("expired");
      const expiresAtMs = nowMs + ttlMs;
      checkAborted(signal);
      if (!(await setExpiryIfUnchanged(ctx, found.ref, found.updateTime, expiresAtMs))) return undefined;
      return { ok: true, expiresAtMs: time.forCaller(expiresAtMs) };
    }),
  );
}
