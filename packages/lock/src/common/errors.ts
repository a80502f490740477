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

/** What an error was about, for debugging: SyncGuard's `context` (the cause is also the standard `cause`). */
export interface LockErrorContext {
  key?: string;
  lockId?: string;
  cause?: unknown;
}

/**
 * The library's one error class. The third argument is SyncGuard's `context` (`{ key, lockId, cause }`);
 * a `cause` given there is also set as the standard `Error.cause`.
 *
 * @example
 * try { await backend.release({ lockId }) } catch (e) { if (e instanceof LockError && e.code === "Aborted") … }
 */
export class LockError extends Error {
  override name = "LockError";
  readonly code: LockErrorCode;
  readonly context?: LockErrorContext;

  constructor(code: LockErrorCode, message?: string, context?: LockErrorContext) {
    super(message ?? code, context && "cause" in context ? { cause: context.cause } : undefined);
    this.code = code;
    if (context !== undefined) this.context = context;
  }
}

/** Whether `lock()` should retry after this error. */
export function isTransientLockError(error: unknown): boolean {
  return error instanceof LockError && TRANSIENT_ERROR_CODES.has(error.code);
}
