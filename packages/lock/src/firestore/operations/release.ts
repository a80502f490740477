import { checkAborted } from "../../common/abort.js";
import { refused } from "../../common/backend-semantics.js";
import { isLive, TIME_TOLERANCE_MS } from "../../common/time-predicates.js";
import type { LockOp, ReleaseResult } from "../../common/types.js";
import { validateLockId } from "../../common/validation.js";
import type { FirestoreContext } from "../config.js";
import { deleteIfUnchanged, findLockByLockId, untilSettled } from "../documents.js";
import { withErrorMapping } from "../errors.js";
import { OperationTime } from "../time.js";

/**
 * Releases the lock held by `lockId`: one query on the `lockId` index (duplicates detected, whichever
 * instance acquired the lock), then a delete conditioned on the document's update time, so that it happens
 * only if the document is still the one judged: carrying this lockId (explicit ownership check, ADR-003,
 * docs/adr/ADR-003-explicit-ownership-verification.md) and live at the query's decision instant. One read,
 * one write; no transaction, so releases of different keys never wait for each other (ADR-018,
 * docs/adr/ADR-018-conditional-writes.md).
 */
export async function release(ctx: FirestoreContext, opts: LockOp): Promise<ReleaseResult> {
  const lockId = validateLockId(opts.lockId);
  const { signal } = opts;
  checkAborted(signal);
  return withErrorMapping(() =>
    untilSettled(async (): Promise<ReleaseResult | undefined> => {
      const time = new OperationTime(ctx);
      const found = await findLockByLockId(ctx, lockId, time);
      checkAborted(signal);
      if (!found || found.data.lockId !== lockId) return refused("not-found");
      if (!isLive(found.data.expiresAtMs, time.decidedAtMs, TIME_TOLERANCE_MS)) {
        return refused("expired");
      }
      checkAborted(signal);
      return (await deleteIfUnchanged(ctx, found.ref, found.updateTime)) ? { ok: true } : undefined;
    }),
  );
}
