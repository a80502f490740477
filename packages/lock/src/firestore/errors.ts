import { LockError, type LockErrorCode } from "../common/errors.js";
import { type GrpcStatusName, grpcStatusOf } from "./failures.js";

/** Firestore's statuses (the one vocabulary, `failures.ts`) to lock error codes; anything else is `Internal`. */
const LOCK_CODE: Partial<Record<GrpcStatusName, LockErrorCode>> = {
  CANCELLED: "Aborted",
  INVALID_ARGUMENT: "InvalidArgument",
  DEADLINE_EXCEEDED: "NetworkTimeout",
  PERMISSION_DENIED: "AuthFailed",
  UNAUTHENTICATED: "AuthFailed",
  RESOURCE_EXHAUSTED: "RateLimited",
  FAILED_PRECONDITION: "InvalidArgument",
  // Transaction contention or a backend failure: worth a retry by `lock()`.
  ABORTED: "ServiceUnavailable",
  INTERNAL: "ServiceUnavailable",
  UNAVAILABLE: "ServiceUnavailable",
};

/** Maps anything a Firestore call threw to a `LockError`; a `LockError` passes through unchanged. */
export function mapFirestoreError(error: unknown): LockError {
  if (error instanceof LockError) return error;
  const status = grpcStatusOf(error);
  const mapped = status && LOCK_CODE[status];
  const message = error instanceof Error ? error.message : String(error);
  return new LockError(mapped ?? "Internal", `Firestore: ${message}`, { cause: error });
}

/** Runs a Firestore operation, turning every failure into a `LockError`. */
export async function withErrorMapping<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw mapFirestoreError(error);
  }
}
