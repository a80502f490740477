import type { Clock } from "../stores/types.js";

/**
 * Counts failures per key in a sliding window and blocks the key once `limit` failures fall inside it.
 * In memory, per instance: it slows guessing down, it is not an account lockout (which would let anyone
 * lock a victim out across instances).
 */
export class FailureLimiter {
  readonly #failures = new Map<string, number[]>();

  constructor(
    private readonly options: { limit: number; windowMs: number; clock: Clock; maxKeys?: number },
  ) {}

  /** 0 when the key may try again now; otherwise how long until it may. */
  retryAfterMs(key: string): number {
    const recent = this.#recent(key);
    if (recent.length < this.options.limit) return 0;
    return recent[recent.length - this.options.limit]! + this.options.windowMs - this.options.clock();
  }

  fail(key: string): void {
    const recent = this.#recent(key);
    recent.push(this.options.clock());
    if (recent.length > this.options.limit) recent.splice(0, recent.length - this.options.limit);
    this.#failures.delete(key);
    this.#failures.set(key, recent);
    // Oldest keys go first when an attacker sprays keys; their windows are the likeliest to be over.
    if (this.#failures.size > (this.options.maxKeys ?? 100_000)) {
      this.#failures.delete(this.#failures.keys().next().value!);
    }
  }

  /** Takes back the newest failure of the key (an attempt counted up front that turned out fine). */
  forgive(key: string): void {
    this.#failures.get(key)?.pop();
  }

  reset(key: string): void {
    this.#failures.delete(key);
  }

  #recent(key: string): number[] {
    const since = this.options.clock() - this.options.windowMs;
    return (this.#failures.get(key) ?? []).filter((at) => at > since);
  }
}
