/**
 * The unified clock-skew tolerance of every liveness check, in milliseconds (ADR-005,
 * docs/adr/ADR-005-unified-time-tolerance.md). Fixed, not
 * configurable, so that every backend and every client agrees on when a lock is dead. It is larger
 * than the 500 ms deployment block threshold of the clock-synchronisation ladder on purpose.
 */
export const TIME_TOLERANCE_MS = 1000;

/**
 * The one liveness predicate every backend uses: a lock stays live until `toleranceMs` after its
 * expiry, so that a client whose clock runs slightly ahead does not steal a lock its holder still owns.
 *
 * @example
 * isLive(doc.expiresAtMs, Date.now(), TIME_TOLERANCE_MS)
 */
export function isLive(expiresAtMs: number, nowMs: number, toleranceMs: number): boolean {
  return expiresAtMs > nowMs - toleranceMs;
}
