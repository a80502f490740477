import { describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../stores/types.js";
import { JobHaltedError, JobRetrier } from "./retry.js";

const policy = { maxRetries: 3, baseDelayMs: 100, maxDelayMs: 1000, breakAfter: 2 };

describe("JobRetrier", () => {
  it("retries transient failures with exponentially growing, jittered delays", async () => {
    const delays: number[] = [];
    const retrier = new JobRetrier(
      policy,
      async (ms) => void delays.push(ms),
      () => 1,
    );
    let calls = 0;
    const result = await retrier.run(async () => {
      if (++calls < 4) throw new StoreUnavailableError("down");
      return "ok";
    });
    expect(result).toBe("ok");
    expect(delays).toEqual([100, 200, 400]);
  });

  it("draws each delay from [0, ceiling] (full jitter)", async () => {
    const delays: number[] = [];
    const retrier = new JobRetrier(
      policy,
      async (ms) => void delays.push(ms),
      () => 0.5,
    );
    await expect(
      retrier.run(async () => {
        throw new StoreUnavailableError("down");
      }),
    ).rejects.toThrow(StoreUnavailableError);
    expect(delays).toEqual([50, 100, 200]);
  });

  it("does not retry a permanent error", async () => {
    const retrier = new JobRetrier(policy, async () => undefined);
    let calls = 0;
    await expect(
      retrier.run(async () => {
        calls++;
        throw new TypeError("bug");
      }),
    ).rejects.toThrow(TypeError);
    expect(calls).toBe(1);
  });

  it("opens the circuit after consecutive failed operations and then fails without calling", async () => {
    const retrier = new JobRetrier(policy, async () => undefined);
    const failing = async () => {
      throw new StoreUnavailableError("down");
    };
    await expect(retrier.run(failing)).rejects.toThrow(StoreUnavailableError);
    await expect(retrier.run(failing)).rejects.toThrow(StoreUnavailableError);
    let called = false;
    await expect(
      retrier.run(async () => {
        called = true;
      }),
    ).rejects.toThrow(JobHaltedError);
    expect(called).toBe(false);
  });

  it("closes again after a success", async () => {
    const retrier = new JobRetrier({ ...policy, breakAfter: 2 }, async () => undefined);
    await expect(
      retrier.run(async () => {
        throw new StoreUnavailableError("down");
      }),
    ).rejects.toThrow();
    await retrier.run(async () => "fine");
    await expect(
      retrier.run(async () => {
        throw new StoreUnavailableError("down");
      }),
    ).rejects.toThrow(StoreUnavailableError);
  });
});
