import { ControlPlaneError, type Operation } from "./control-plane.js";

/**
 * The control plane's retry level: the seed's `retry_attempts` / `retry_initial_delay_seconds` /
 * `retry_backoff_multiplier`, applied to transient `ControlPlaneError`s and to waiting on long-running
 * operations. (Firestore document calls retry by the lock's failure vocabulary instead.)
 */
export interface RetryPolicy {
  attempts: number;
  initialDelaySeconds: number;
  backoffMultiplier: number;
}

export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The seed's defaults: 3 tries, 1 s, doubling. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  attempts: 3,
  initialDelaySeconds: 1,
  backoffMultiplier: 2,
};

/** The delay before try number `attempt + 1` (attempt counts from 1), in milliseconds. */
export function retryDelayMs(policy: RetryPolicy, attempt: number): number {
  return Math.round(policy.initialDelaySeconds * 1000 * policy.backoffMultiplier ** (attempt - 1));
}

/**
 * Runs a control-plane call, retrying transient `ControlPlaneError`s up to `policy.attempts` tries in all.
 * Permanent errors, and anything that is not a control-plane error, are thrown at once.
 *
 * @example
 * const database = await retryControlPlaneCall(() => controlPlane.getDatabase(), policy, realSleep);
 */
export async function retryControlPlaneCall<T>(
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

/**
 * Polls a long-running operation until it is done, up to `policy.attempts` polls with the policy's delays
 * between them; an operation still running after that comes back with an `error` saying so.
 */
export async function waitForOperation(
  getOperation: (name: string) => Promise<Operation>,
  operation: Operation,
  policy: RetryPolicy,
  sleep: Sleep,
): Promise<Operation> {
  let current = operation;
  for (let attempt = 1; !current.done && attempt <= policy.attempts; attempt++) {
    if (attempt > 1) await sleep(retryDelayMs(policy, attempt - 1));
    current = await retryControlPlaneCall(() => getOperation(current.name), policy, sleep);
  }
  if (!current.done) {
    return {
      ...current,
      error: {
        status: "DEADLINE_EXCEEDED",
        message: `operation ${current.name} did not finish after ${policy.attempts} polls`,
      },
    };
  }
  return current;
}
