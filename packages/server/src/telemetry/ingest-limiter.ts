import { BoundedMap } from "../bounded-map.js";
import type { Clock } from "../stores/types.js";

/**
 * Telemetry points per device per minute (docs/design/telemetry.md, `DEVICE_WRITES_PER_MINUTE`): a token
 * bucket per device that holds one minute's allowance and refills continuously, so a device may burst its
 * minute's points at once but not more. In memory, per instance.
 */
export class IngestLimiter {
  readonly #buckets: BoundedMap<string, { tokens: number; at: number }>;

  constructor(private readonly options: { pointsPerMinute: number; clock: Clock; maxDevices?: number }) {
    this.#buckets = new BoundedMap(options.maxDevices ?? 100_000);
  }

  get capacity(): number {
    return this.options.pointsPerMinute;
  }

  /** Takes `points` from the device's bucket, or says how long until they would be there. */
  take(key: string, points: number): { ok: true } | { ok: false; retryAfterMs: number } {
    const now = this.options.clock();
    const perMs = this.options.pointsPerMinute / 60_000;
    const bucket = this.#buckets.get(key) ?? { tokens: this.options.pointsPerMinute, at: now };
    const tokens = Math.min(this.options.pointsPerMinute, bucket.tokens + (now - bucket.at) * perMs);
    if (tokens + 1e-9 < points) {
      this.#buckets.set(key, { tokens, at: now });
      return { ok: false, retryAfterMs: Math.ceil((points - tokens) / perMs) };
    }
    this.#buckets.set(key, { tokens: tokens - points, at: now });
    return { ok: true };
  }
}
