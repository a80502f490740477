/**
 * Why a release or extend answered `{ ok: false }`, attached to the result under a symbol so that the public
 * result stays `{ ok: false }` (callers cannot act differently on the two) while telemetry can tell them apart.
 */
export const FAILURE_REASON: unique symbol = Symbol("failureReason");

export type MutationReason = "expired" | "not-found";

/** What a backend observed when a mutation by lockId did not happen (or did). */
export type MutationCondition =
  | "succeeded"
  /** The record was there and owned, but no longer live. */
  | "observable-expired"
  /** No record carries the lockId. */
  | "never-existed"
  /** The record carries another lockId. */
  | "ownership-mismatch"
  /** Removed after it expired. */
  | "cleaned-up-after-expiry"
  /** A race or a duplicate: the backend cannot say. */
  | "ambiguous-unknown";

export type MutationResult = { ok: true } | { ok: false; reason: MutationReason };

/** Collapses a condition to what telemetry reports; everything ambiguous is `not-found`. */
export function mapToMutationResult(condition: MutationCondition): MutationResult {
  if (condition === "succeeded") return { ok: true };
  if (condition === "observable-expired") return { ok: false, reason: "expired" };
  return { ok: false, reason: "not-found" };
}

/** The condition of a lockId mutation from what a document store saw. */
export function mapFirestoreConditions(observed: {
  documentExists: boolean;
  ownershipValid: boolean;
  isLive: boolean;
}): MutationCondition {
  if (!observed.documentExists) return "never-existed";
  if (!observed.ownershipValid) return "ownership-mismatch";
  if (!observed.isLive) return "observable-expired";
  return "succeeded";
}

/**
 * `{ ok: false }` carrying why (non-enumerable, so that `{ ok: false }` still compares equal to it).
 *
 * @example
 * return refused("expired");
 */
export function refused(reason: MutationReason): { ok: false } {
  const result = { ok: false as const };
  Object.defineProperty(result, FAILURE_REASON, { value: { reason }, enumerable: false });
  return result;
}

/** The reason attached by `refused()` (or by hand, as SyncGuard's backends do), if any. */
export function failureReasonOf(result: unknown): MutationReason | undefined {
  const meta = (result as { [FAILURE_REASON]?: { reason?: unknown } } | null)?.[FAILURE_REASON];
  return meta?.reason === "expired" || meta?.reason === "not-found" ? meta.reason : undefined;
}
