/** When a failed delivery is tried again (docs/design/webhooks.md, "Retries"). */
export interface RetryPolicy {
  /** The delay after the first failure; it doubles with each further one. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** Attempts in all, the first included; then the delivery has failed. */
  maxAttempts: number;
  /** A delivery not delivered this long after the transition has failed. */
  giveUpAfterMs: number;
}

export const RETRY_POLICY: RetryPolicy = {
  firstDelayMs: 10_000,
  maxDelayMs: 3_600_000,
  maxAttempts: 15,
  giveUpAfterMs: 24 * 3_600_000,
};

/**
 * When attempt `attempts + 1` is due after `attempts` failed ones (the last at `now`), or null when the
 * delivery has failed for good. Exponential, capped, with "equal jitter" (half the delay fixed, half
 * random), so that receivers coming back from an outage are not hit by every sender at once.
 */
export function nextAttemptAt(
  policy: RetryPolicy,
  attempts: number,
  createdMs: number,
  now: number,
  random: () => number = Math.random,
): number | null {
  if (attempts >= policy.maxAttempts) return null;
  const delay = Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** Math.max(0, attempts - 1));
  const at = now + Math.round(delay / 2 + (random() * delay) / 2);
  return at - createdMs > policy.giveUpAfterMs ? null : at;
}
