/**
 * Runs `task` every `intervalMs` for as long as the process lives, never two runs at once (a tick that
 * finds the previous run still going is skipped); a failed run goes to `onError` and the next tick runs
 * again. The timer never keeps the process alive. The service's background jobs (the session sweeper,
 * SQLite retention, the alarm sweep, the rollup maintenance) run on it.
 *
 * `stop()` ends the ticks and resolves once a run in progress has settled (at most `STOP_WAIT_MS`), so that
 * the caller can close what the run uses (a Firestore client) without failing it half-way.
 *
 * @example
 * const job = every(60_000, () => sweepOnce(), (error) => logger.error({ err: error }, "sweep failed"));
 * await job.stop();
 */
export function every(
  intervalMs: number,
  task: () => Promise<unknown>,
  onError?: (error: unknown) => void,
): PeriodicJob {
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = task()
      .then(
        () => undefined,
        (error) => onError?.(error),
      )
      .finally(() => {
        running = null;
      });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      if (!running) return;
      let timeout: NodeJS.Timeout | undefined;
      await Promise.race([
        running,
        new Promise((resolve) => {
          timeout = setTimeout(resolve, STOP_WAIT_MS);
          timeout.unref();
        }),
      ]);
      clearTimeout(timeout);
    },
  };
}

/** A job started by `every`. */
export interface PeriodicJob {
  /** Ends the ticks; resolves once a run in progress has settled, or after `STOP_WAIT_MS`. */
  stop(): Promise<void>;
}

/** How long `stop()` waits for a run in progress: a store that does not answer must not hold a shutdown. */
export const STOP_WAIT_MS = 10_000;
