import { FENCE_DIGITS, FENCE_THRESHOLDS } from "./constants.js";
import { LockError } from "./errors.js";
import type { AcquireOk, AcquireResult, BackendCapabilities, Fence } from "./types.js";

const LARGEST_FENCE = 10n ** BigInt(FENCE_DIGITS) - 1n;

/**
 * Formats a counter value as a 15-digit zero-padded fence token, which orders correctly as a string.
 * Throws `LockError("InvalidArgument")` for a negative value or one past 15 digits.
 */
export function formatFence(value: bigint | number): string {
  const n = typeof value === "number" ? BigInt(Math.trunc(value)) : value;
  if (n < 0n) throw new LockError("InvalidArgument", "Fence must be non-negative");
  if (n > LARGEST_FENCE) throw new LockError("InvalidArgument", `Fence exceeds 15-digit limit: ${n}`);
  return n.toString().padStart(FENCE_DIGITS, "0");
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
 * `LockError("Internal")` past `FENCE_THRESHOLDS.MAX` and calls `warn` past `FENCE_THRESHOLDS.WARN`
 * (ADR-004, docs/adr/ADR-004-fence-tokens.md).
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

/**
 * Whether an acquire result carries a fence: a type guard for code generic over backends (with a typed
 * Firestore or SQLite backend, `fence` is already known to exist).
 */
export function hasFence<C extends BackendCapabilities>(
  result: AcquireResult<C>,
): result is AcquireOk<C> & { fence: Fence } {
  return result.ok && typeof (result as { fence?: unknown }).fence === "string" && result.fence !== "";
}

/**
 * Writes the fence-threshold warning to stderr, for custom backends (this library's own backends report
 * through their `logger` option instead).
 */
export function logFenceWarning(fence: Fence | number, key: string): void {
  console.warn(
    `[@firebrick/lock] Fence counter approaching limit: fence=${fence}, key=${key}, max=${FENCE_THRESHOLDS.MAX}`,
  );
}
