import { describe, expect, it } from "vitest";
import { concurrencyLimit, QueueFullError } from "./concurrency.js";

/** A task that runs until the test lets it finish. */
function held() {
  let finish = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return { task: () => done, finish };
}

describe("concurrencyLimit", () => {
  it("runs at most `limit` tasks at once and starts the waiting ones in arrival order", async () => {
    const limited = concurrencyLimit(1);
    const first = held();
    const order: string[] = [];
    const a = limited(() => {
      order.push("a");
      return first.task();
    });
    const b = limited(async () => order.push("b"));
    const c = limited(async () => order.push("c"));
    expect(order).toEqual(["a"]);
    expect(limited.waiting()).toBe(2);
    first.finish();
    await Promise.all([a, b, c]);
    expect(order).toEqual(["a", "b", "c"]);
  });

  it("refuses a task at once, without running it, when `maxWaiting` tasks wait already", async () => {
    const limited = concurrencyLimit(1, { maxWaiting: 1 });
    const running = held();
    const first = limited(running.task);
    const queued = limited(async () => "ran");
    let ran = false;
    await expect(
      limited(async () => {
        ran = true;
      }),
    ).rejects.toBeInstanceOf(QueueFullError);
    expect(ran).toBe(false);
    running.finish();
    await first;
    expect(await queued).toBe("ran");
  });

  it("tells before any task is given whether one would be refused at once (refuseIfFull)", async () => {
    const limited = concurrencyLimit(1, { maxWaiting: 1 });
    expect(() => limited.refuseIfFull()).not.toThrow();
    const running = held();
    const first = limited(running.task);
    expect(() => limited.refuseIfFull()).not.toThrow(); // a slot is taken, the queue has room
    const queued = limited(async () => "ran");
    expect(() => limited.refuseIfFull()).toThrow(QueueFullError);
    running.finish();
    await Promise.all([first, queued]);
    expect(() => limited.refuseIfFull()).not.toThrow();
  });

  it("refuses a task that waited `maxWaitMs` for a slot, and runs the ones behind it", async () => {
    const limited = concurrencyLimit(1, { maxWaitMs: 20 });
    const running = held();
    const first = limited(running.task);
    const late = limited(async () => "late").catch((error: unknown) => error);
    expect(await late).toBeInstanceOf(QueueFullError);
    expect(limited.waiting()).toBe(0);
    running.finish();
    await first;
    expect(await limited(async () => "next")).toBe("next");
  });
});
