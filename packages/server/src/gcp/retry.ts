import { ControlPlaneError } from "./control-plane.js";

/** The seed's retry settings: `retry_attempts` tries in all, delays growing by the multiplier. */
export interface RetryPolicy {
  attempts: number;
  initialDelaySeconds: number;
  backoffMultiplier: number;
}

export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The delay before try number `attempt + 1` (attempt counts from 1), in milliseconds. */
export function retryDelayMs(policy: RetryPolicy, attempt: number): number {
  return Math.round(policy.initialDelaySeconds * 1000 * policy.backoffMultiplier ** (attempt - 1));
}

/**
 * Runs `operation`, retrying transient `ControlPlaneError`s up to `policy.attempts` tries in all.
 * Permanent errors, and anything that is not a control-plane error, are thrown at once.
 *
 * @example
 * const database = await withRetry(() => controlPlane.getDatabase(), policy, realSleep);
 */
export async function withRetry<T>(
  operation: () => Promise<T>,
  policy: RetryPolicy,
  sleep: Sleep,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!(error instanceof ControlPlaneError) || !error.transient || attempt >= policy.attempts)
        throw error;
      await sleep(retryDelayMs(policy, attempt));
    }
  }
}
