import { describe, expect, it } from "vitest";
import { every } from "./periodic.js";

describe("every", () => {
  it("stops its ticks, and resolves stop() only once the run in progress has settled", async () => {
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let runs = 0;
    const job = every(5, async () => {
      runs += 1;
      started();
      await held;
    });
    await running;
    let stopped = false;
    const stopping = job.stop().then(() => {
      stopped = true;
    });
    // The run still holds: stop() has not resolved, whatever the event loop does meanwhile.
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(stopped).toBe(true);
    expect(runs).toBe(1);
  });

  it("resolves stop() at once when no run is in progress", async () => {
    const job = every(60_000, async () => {});
    await expect(job.stop()).resolves.toBeUndefined();
  });
});
