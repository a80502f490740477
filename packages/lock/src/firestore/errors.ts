import { LockError, type LockErrorCode } from "../common/errors.js";

/** gRPC status codes (google.rpc.Code) to lock error codes. The SDK's `code` is numeric; text is never parsed. */
const GRPC_TO_LOCK: ReadonlyMap<number, LockErrorCode> = new Map([
  [1, "Aborted"], // CANCELLED
  [3, "InvalidArgument"], // INVALID_ARGUMENT
  [4, "NetworkTimeout"], // DEADLINE_EXCEEDED
  [7, "AuthFailed"], // PERMISSION_DENIED
  [8, "RateLimited"], // RESOURCE_EXHAUSTED
  [9, "InvalidArgument"], // FAILED_PRECONDITION
  [10, "ServiceUnavailable"], // ABORTED: transaction contention, worth a retry
  [13, "ServiceUnavailable"], // INTERNAL
  [14, "ServiceUnavailable"], // UNAVAILABLE
  [16, "AuthFailed"], // UNAUTHENTICATED
]);

/** Maps anything a Firestore call threw to a `LockError`; a `LockError` passes through unchanged. */
export function mapFirestoreError(error: unknown): LockError {
  if (error instanceof LockError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const mapped = typeof code === "number" ? GRPC_TO_LOCK.get(code) : undefined;
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
