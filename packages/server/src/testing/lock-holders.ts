import type { RunExclusive } from "../sessions/sweeper.js";

/**
 * A place where a test holds a lock holder (as a GC pause or a frozen VM would) until it resumes it:
 * `hold` is what the holder awaits, `reached` resolves once it is held there.
 */
export function pausePoint(): { hold(): Promise<void>; reached: Promise<void>; resume(): void } {
  let resume!: () => void;
  const released = new Promise<void>((resolve) => {
    resume = resolve;
  });
  let arrived!: () => void;
  const reached = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  return {
    async hold() {
      arrived();
      await released;
    },
    reached,
    resume,
  };
}

/**
 * Runs `task` under the lock through `run`, trying again until the lock is free (the previous holder's
 * lease must run out first); returns the fencing token it ran with.
 */
export async function onceLockTaken(
  run: RunExclusive,
  task: (fence: string) => Promise<void>,
  timeoutMs = 20_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let taken: string | null = null;
  while (taken === null) {
    if (Date.now() > deadline) throw new Error("the lock was never free after the paused holder's lease");
    await run(async ({ fence }) => {
      taken = fence ?? "";
      await task(taken);
    });
    if (taken === null) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return taken;
}
