import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../../web/js/api.js";
import { Poller } from "../../web/js/poller.js";

// The page's poller is a browser module; a bare EventTarget stands in for `document` (only `hidden` and
// `visibilitychange` are used), and Vitest's fake timers are the clock.
const page = Object.assign(new EventTarget(), { hidden: false });

function setHidden(hidden: boolean) {
  page.hidden = hidden;
  page.dispatchEvent(new Event("visibilitychange"));
}

describe("dashboard poller (read budget, docs/design/dashboard.md)", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.stubGlobal("document", page);
    page.hidden = false;
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it("runs at once, then once per interval: 12 runs a minute at 5 s", async () => {
    const task = vi.fn(async () => {});
    const poller = new Poller(task, { intervalMs: 5000 });
    poller.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(task).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(60_000 - 1);
    expect(task).toHaveBeenCalledTimes(12);
    poller.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(task).toHaveBeenCalledTimes(12);
  });

  it("never has two requests in flight: a slow response delays the next poll", async () => {
    let finish: () => void = () => {};
    const task = vi.fn(() => new Promise<void>((resolve) => (finish = resolve)));
    const poller = new Poller(task, { intervalMs: 5000 });
    poller.start();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(task).toHaveBeenCalledTimes(1);
    finish();
    await vi.advanceTimersByTimeAsync(5000);
    expect(task).toHaveBeenCalledTimes(2);
    poller.stop();
  });

  it("stops polling while the tab is hidden and resumes when it is shown, no sooner than the interval", async () => {
    const task = vi.fn(async () => {});
    const poller = new Poller(task, { intervalMs: 5000 });
    poller.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(task).toHaveBeenCalledTimes(1);
    setHidden(true);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(task).toHaveBeenCalledTimes(1);
    setHidden(false);
    await vi.advanceTimersByTimeAsync(0);
    expect(task).toHaveBeenCalledTimes(2);
    // Hidden and shown again at once: the interval still holds.
    setHidden(true);
    setHidden(false);
    await vi.advanceTimersByTimeAsync(4999);
    expect(task).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(task).toHaveBeenCalledTimes(3);
    poller.stop();
  });

  it("waits as long as a 429's Retry-After asks before polling again", async () => {
    const task = vi
      .fn<() => Promise<void>>()
      .mockRejectedValueOnce(new ApiError(429, "RATE_LIMITED", "slow down", { retryAfterMs: 30_000 }))
      .mockResolvedValue(undefined);
    const errors: unknown[] = [];
    const poller = new Poller(task, { intervalMs: 5000, onError: (error) => errors.push(error) });
    poller.start();
    await vi.advanceTimersByTimeAsync(29_999);
    expect(task).toHaveBeenCalledTimes(1);
    expect(errors).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(task).toHaveBeenCalledTimes(2);
    poller.stop();
  });

  it("backs off exponentially while the server is unreachable, up to a minute", async () => {
    const task = vi.fn(async () => {
      throw new ApiError(0, "NETWORK", "offline");
    });
    const poller = new Poller(task, { intervalMs: 5000 });
    poller.start();
    await vi.advanceTimersByTimeAsync(0);
    // Runs at 0, 10, 30 and 70 s (the wait doubling from 10 s), then every 60 s (the cap).
    await vi.advanceTimersByTimeAsync(10_000 + 20_000 + 40_000 + 60_000);
    expect(task).toHaveBeenCalledTimes(5);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(task).toHaveBeenCalledTimes(6);
    poller.stop();
  });
});
