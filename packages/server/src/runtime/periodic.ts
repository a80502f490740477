/**
 * Runs `task` every `intervalMs` for as long as the process lives, never two runs at once (a tick that
 * finds the previous run still going is skipped); a failed run goes to `onError` and the next tick runs
 * again. The timer never keeps the process alive. The service's background jobs (the session sweeper,
 * SQLite retention) run on it.
 *
 * @example
 * const job = every(60_000, () => sweepOnce(), (error) => logger.error({ err: error }, "sweep failed"));
 * job.stop();
 */
export function every(
  intervalMs: number,
  task: () => Promise<unknown>,
  onError?: (error: unknown) => void,
): { stop(): void } {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    task()
      .catch((error) => onError?.(error))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
