import { fullJitterDelay } from "../stores/resilience.js";
import { StoreUnavailableError } from "../stores/types.js";

/** Too many consecutive failures: the job stops (its checkpoint stays) instead of feeding a retry storm. */
export class JobHaltedError extends Error {
  override name = "JobHaltedError";
}

/** How a migration job retries its writes (the job level; a store call has its own, `withResilience`). */
export interface JobRetryPolicy {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Consecutive failed operations (after their retries) that halt the job. */
  breakAfter: number;
}

export const JOB_RETRY: JobRetryPolicy = {
  maxRetries: 5,
  baseDelayMs: 200,
  maxDelayMs: 10_000,
  breakAfter: 3,
};

/**
 * The job-level retry: retries transient store failures with exponential backoff and full jitter;
 * after `breakAfter` operations in a row have failed for good, every further call fails at once.
 *
 * @example
 * const retrier = new JobRetrier();
 * await retrier.run(() => target.users.create(tenant, user));
 */
export class JobRetrier {
  private consecutiveFailures = 0;

  constructor(
    private readonly policy: JobRetryPolicy = JOB_RETRY,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
    private readonly random: () => number = Math.random,
  ) {}

  async run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.consecutiveFailures >= this.policy.breakAfter) {
      throw new JobHaltedError(`stopped after ${this.consecutiveFailures} failed writes in a row`);
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await operation();
        this.consecutiveFailures = 0;
        return result;
      } catch (error) {
        if (!(error instanceof StoreUnavailableError) || attempt >= this.policy.maxRetries) {
          this.consecutiveFailures++;
          throw error;
        }
        const { baseDelayMs, maxDelayMs } = this.policy;
        await this.sleep(fullJitterDelay(attempt, baseDelayMs, maxDelayMs, this.random));
      }
    }
  }
}
