/**
 * A per-key write budget (e.g. 5 batched writes per minute per device, as the migration plan asks of
 * the backfill): `take(key)` waits until the key may write again. Clock and sleep are injectable so
 * that tests can run a long backfill in virtual time.
 */
export class WriteBudget {
  private readonly history = new Map<string, number[]>();

  constructor(
    private readonly perMinute: number,
    private readonly clock: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    if (!Number.isInteger(perMinute) || perMinute < 1)
      throw new RangeError("perMinute must be a positive integer");
  }

  async take(key: string): Promise<void> {
    for (;;) {
      const now = this.clock();
      const recent = (this.history.get(key) ?? []).filter((at) => at > now - 60_000);
      if (recent.length < this.perMinute) {
        recent.push(now);
        this.history.set(key, recent);
        return;
      }
      this.history.set(key, recent);
      await this.sleep(recent[0]! + 60_000 - now);
    }
  }
}
