/**
 * The client side of the per-device write limit (docs/design/telemetry.md: DEVICE_WRITES_PER_MINUTE points per device per
 * rolling minute). Keeping to it ourselves means the simulator is not the one filling the server's logs with
 * 429s; the server stays the authority, and a 429's Retry-After still wins.
 */
export class RateBudget {
  /** Timestamps of the points sent within the last window, oldest first. */
  readonly #sent: number[] = [];

  constructor(
    readonly pointsPerWindow: number,
    readonly windowMs = 60_000,
  ) {
    if (!Number.isInteger(pointsPerWindow) || pointsPerWindow < 1) {
      throw new RangeError("pointsPerWindow must be a positive integer");
    }
  }

  /** How long to wait from `now` before `count` points fit in the window (0: send now). */
  delayFor(count: number, now: number): number {
    if (count > this.pointsPerWindow) {
      throw new RangeError(`a batch of ${count} points can never fit a budget of ${this.pointsPerWindow}`);
    }
    this.#forget(now);
    const excess = this.#sent.length + count - this.pointsPerWindow;
    if (excess <= 0) return 0;
    // The window must slide past the `excess` oldest points.
    return this.#sent[excess - 1]! + this.windowMs - now;
  }

  /** Records that `count` points were sent at `now`. */
  record(count: number, now: number): void {
    for (let i = 0; i < count; i++) this.#sent.push(now);
  }

  #forget(now: number): void {
    while (this.#sent.length > 0 && this.#sent[0]! <= now - this.windowMs) this.#sent.shift();
  }
}
