import { FENCE_DIGITS, FENCE_THRESHOLDS } from "./constants.js";
import { LockError } from "./errors.js";

/** Formats a counter value as a 15-digit zero-padded fence token, which orders correctly as a string. */
export function formatFence(value: bigint): string {
  return value.toString().padStart(FENCE_DIGITS, "0");
}

/** Parses a stored fence token; throws `LockError("Internal")` if storage holds something else. */
export function parseFence(stored: unknown): bigint {
  if (typeof stored !== "string" || !/^\d{1,20}$/.test(stored)) {
    throw new LockError("Internal", "Stored fence counter is malformed");
  }
  return BigInt(stored);
}

/**
 * The fence after `current`, in BigInt arithmetic so that no value loses precision. Throws
 * `LockError("Internal")` past `FENCE_THRESHOLDS.MAX` and calls `warn` past `FENCE_THRESHOLDS.WARN`.
 */
export function nextFence(current: bigint, warn: (message: string, fence: string) => void): string {
  const next = current + 1n;
  if (next > BigInt(FENCE_THRESHOLDS.MAX)) {
    throw new LockError("Internal", `Fence counter overflow: ${next} exceeds ${FENCE_THRESHOLDS.MAX}`);
  }
  const fence = formatFence(next);
  if (next > BigInt(FENCE_THRESHOLDS.WARN)) {
    warn(`Fence counter is past the warning threshold ${FENCE_THRESHOLDS.WARN}`, fence);
  }
  return fence;
}

/**
 * Compares two fence tokens: negative if `a` is older, positive if newer, 0 if equal.
 *
 * @example
 * if (compareFences(incoming, stored) < 0) reject();
 */
export function compareFences(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
