/** The stable error codes of the library; callers match on these, never on message text. */
export const LOCK_ERROR_CODES = [
  "ServiceUnavailable",
  "AuthFailed",
  "InvalidArgument",
  "RateLimited",
  "NetworkTimeout",
  "AcquisitionTimeout",
  "Aborted",
  "Internal",
] as const;

export type LockErrorCode = (typeof LOCK_ERROR_CODES)[number];

/** Errors that `lock()` retries with backoff: the operation may well succeed a moment later. */
export const TRANSIENT_ERROR_CODES: ReadonlySet<LockErrorCode> = new Set([
  "ServiceUnavailable",
  "NetworkTimeout",
  "RateLimited",
]);

/**
 * The library's one error class.
 *
 * @example
 * try { await backend.release({ lockId }) } catch (e) { if (e instanceof LockError && e.code === "Aborted") … }
 */
export class LockError extends Error {
  override name = "LockError";
  readonly code: LockErrorCode;

  constructor(code: LockErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? code, options);
    this.code = code;
  }
}

/** Whether `lock()` should retry after this error. */
export function isTransientLockError(error: unknown): boolean {
  return error instanceof LockError && TRANSIENT_ERROR_CODES.has(error.code);
}
