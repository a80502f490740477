import { BoundedMap } from "../bounded-map.js";
import type { Clock } from "../stores/types.js";

/**
 * Counts failures per key in a sliding window and blocks the key once `limit` failures fall inside it.
 * In memory, per instance: it slows guessing down, it is not an account lockout (which would let anyone
 * lock a victim out across instances).
 */
export class FailureLimiter {
  // When an attacker sprays keys, the least recently tried go first; their windows are the likeliest over.
  readonly #failures: BoundedMap<string, number[]>;

  constructor(private readonly options: { limit: number; windowMs: number; clock: Clock; maxKeys?: number }) {
    this.#failures = new BoundedMap(options.maxKeys ?? 100_000);
  }

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
    this.#failures.set(key, recent);
  }

  /** Takes back the newest failure of the key (an attempt counted up front that turned out fine). */
  forgive(key: string): void {
    this.#failures.peek(key)?.pop();
  }

  reset(key: string): void {
    this.#failures.delete(key);
  }

  #recent(key: string): number[] {
    const since = this.options.clock() - this.options.windowMs;
    return (this.#failures.peek(key) ?? []).filter((at) => at > since);
  }
}
