import { BACKEND_DEFAULTS, LOCK_DEFAULTS } from "./constants.js";
import type { AcquisitionOptions } from "./types.js";

/** `{ ttlMs }` with the backend default applied. */
export function mergeBackendConfig(config: { ttlMs?: number }): { ttlMs: number } {
  return { ttlMs: config.ttlMs ?? BACKEND_DEFAULTS.ttlMs };
}

/** `lock()`'s acquisition options with the defaults of `LOCK_DEFAULTS` applied. */
export function mergeAcquisitionConfig(
  options: AcquisitionOptions | undefined,
): Required<Omit<AcquisitionOptions, "signal">> & { signal?: AbortSignal } {
  return {
    maxRetries: options?.maxRetries ?? LOCK_DEFAULTS.maxRetries,
    retryDelayMs: options?.retryDelayMs ?? LOCK_DEFAULTS.retryDelayMs,
    timeoutMs: options?.timeoutMs ?? LOCK_DEFAULTS.timeoutMs,
    backoff: options?.backoff ?? LOCK_DEFAULTS.backoff,
    jitter: options?.jitter ?? LOCK_DEFAULTS.jitter,
    ...(options?.signal && { signal: options.signal }),
  };
}
