import { describe, expect, it } from "vitest";
import { RateBudget } from "./rate-budget.js";

describe("simulator rate budget", () => {
  it("lets the budget through at once, then makes the next point wait for the window to slide", () => {
    const budget = new RateBudget(5);
    for (let i = 0; i < 5; i++) {
      expect(budget.delayFor(1, 1000 + i * 100)).toBe(0);
      budget.record(1, 1000 + i * 100);
    }
    // The oldest of the five was sent at t=1000: the sixth fits when it leaves the window.
    expect(budget.delayFor(1, 1500)).toBe(60_000 - 500);
    expect(budget.delayFor(1, 61_000)).toBe(0);
  });

  it("waits for as many old points to expire as a batch needs", () => {
    const budget = new RateBudget(4);
    budget.record(1, 0);
    budget.record(1, 10_000);
    budget.record(1, 20_000);
    expect(budget.delayFor(1, 30_000)).toBe(0);
    expect(budget.delayFor(3, 30_000)).toBe(10_000 + 60_000 - 30_000);
  });

  it("refuses a batch larger than the whole budget instead of waiting forever", () => {
    expect(() => new RateBudget(5).delayFor(6, 0)).toThrow(RangeError);
    expect(() => new RateBudget(0)).toThrow(RangeError);
  });
});
