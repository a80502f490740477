import { describe, expect, it } from "vitest";
import { WriteBudget } from "./budget.js";

/** Virtual time: sleeping advances the clock instead of waiting. */
function virtualTime() {
  let now = 1_700_000_000_000;
  return {
    clock: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
    elapsed: (start: number) => now - start,
  };
}

describe("WriteBudget", () => {
  it("lets a key write N times a minute and makes the next write wait for the window", async () => {
    const time = virtualTime();
    const budget = new WriteBudget(5, time.clock, time.sleep);
    const start = time.clock();
    const stamps: number[] = [];
    for (let i = 0; i < 12; i++) {
      await budget.take("device-a");
      stamps.push(time.clock());
    }
    // No 60-second window ever holds more than five writes.
    for (const t of stamps)
      expect(stamps.filter((s) => s >= t && s < t + 60_000).length).toBeLessThanOrEqual(5);
    expect(time.elapsed(start)).toBe(120_000);
  });

  it("keeps separate budgets per key", async () => {
    const time = virtualTime();
    const budget = new WriteBudget(1, time.clock, time.sleep);
    await budget.take("a");
    await budget.take("b");
    expect(time.elapsed(time.clock())).toBe(0);
  });

  it("refuses a budget that is not a positive integer", () => {
    expect(() => new WriteBudget(0)).toThrow(RangeError);
  });
});
