import { LockError } from "./errors.js";

/**
 * Throws `LockError("Aborted")` if the signal has fired. Neither SDK cancels an operation in flight, so
 * backends call this before reads, after reads and before writes.
 */
export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new LockError("Aborted", "Operation aborted by signal", { cause: signal.reason });
  }
}

/** Waits `ms`, or rejects with `LockError("Aborted")` as soon as the signal fires. */
export function abortableDelay(ms: number, signal?: AbortSignal): Promise<void> {
  checkAborted(signal);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new LockError("Aborted", "Operation aborted by signal", { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Waits `ms` (SyncGuard's `delay`); `abortableDelay` without a signal. */
export function delay(ms: number): Promise<void> {
  return abortableDelay(ms);
}
