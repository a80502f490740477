import { StoreUnavailableError } from "../stores/types.js";

/** Too many consecutive failures: the job stops (its checkpoint stays) instead of feeding a retry storm. */
export class CircuitOpenError extends Error {
  override name = "CircuitOpenError";
}

export interface RetryPolicy {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Consecutive failed operations (after their retries) that open the circuit. */
  breakAfter: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxRetries: 5,
  baseDelayMs: 200,
  maxDelayMs: 10_000,
  breakAfter: 3,
};

/**
 * Retries transient store failures with exponential backoff and full jitter; after `breakAfter`
 * operations in a row have failed for good, every further call fails at once.
 */
export class Retrier {
  private consecutiveFailures = 0;

  constructor(
    private readonly policy: RetryPolicy = DEFAULT_RETRY,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
    private readonly random: () => number = Math.random,
  ) {}

  async run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.consecutiveFailures >= this.policy.breakAfter) {
      throw new CircuitOpenError(`stopped after ${this.consecutiveFailures} failed writes in a row`);
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
        const ceiling = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** attempt);
        await this.sleep(Math.round(this.random() * ceiling));
      }
    }
  }
}
