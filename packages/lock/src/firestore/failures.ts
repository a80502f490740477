/**
 * The one vocabulary for Firestore failures, shared by this library and by every Firestore caller of the
 * Firebrick service (its stores, group commit, migration jobs, bootstrap), so that a status means the same
 * thing everywhere. Failures are read by their gRPC status code, as the SDK reports it in `error.code`;
 * message text is never parsed.
 *
 * @example
 * import { classifyFirestoreFailure } from "@firebrick/lock/firestore";
 * const { status, retry } = classifyFirestoreFailure(error); // e.g. { status: "UNAVAILABLE", retry: "safe" }
 */

/** gRPC status codes (google.rpc.Code), by name. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type GrpcStatusName = keyof typeof GrpcStatus;

const NAMES = new Map<number, GrpcStatusName>(
  Object.entries(GrpcStatus).map(([name, code]) => [code, name as GrpcStatusName]),
);

/**
 * What a caller may do after a failure:
 * - `safe`: Firestore did not act (the request was refused before it ran): retry any call;
 * - `if_idempotent`: the outcome is unknown (the call may have been applied): retry only a call that is
 *   harmless to repeat;
 * - `never`: a permanent answer (bad input, conflict, permission, not found): retrying cannot help.
 */
export type FailureRetry = "safe" | "if_idempotent" | "never";

export interface FirestoreFailure {
  /** The gRPC status, or undefined when the error carries none (a bug, a local error). */
  status: GrpcStatusName | undefined;
  retry: FailureRetry;
}

const RETRY: Partial<Record<GrpcStatusName, FailureRetry>> = {
  // Refused before running: overload or an unreachable backend.
  UNAVAILABLE: "safe",
  RESOURCE_EXHAUSTED: "safe",
  // Ran, or may have: a deadline passed, a transaction lost to contention, or the backend failed mid-way.
  DEADLINE_EXCEEDED: "if_idempotent",
  ABORTED: "if_idempotent",
  INTERNAL: "if_idempotent",
};

/** The gRPC status of an error, looking one level into `cause` (wrappers keep the original there). */
export function grpcStatusOf(error: unknown): GrpcStatusName | undefined {
  return statusOf(error) ?? statusOf((error as { cause?: unknown } | null | undefined)?.cause);
}

function statusOf(error: unknown): GrpcStatusName | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === "number" ? NAMES.get(code) : undefined;
}

/** Classifies a Firestore failure (see `FailureRetry`). */
export function classifyFirestoreFailure(error: unknown): FirestoreFailure {
  const status = grpcStatusOf(error);
  return { status, retry: (status && RETRY[status]) ?? "never" };
}

/** Whether a failure is worth retrying at all (`safe` or `if_idempotent`). */
export function isTransientFirestoreFailure(error: unknown): boolean {
  return classifyFirestoreFailure(error).retry !== "never";
}

const LOST_RACE: ReadonlySet<GrpcStatusName> = new Set([
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "FAILED_PRECONDITION",
]);

/**
 * Whether a commit failed because a write's precondition did not hold: the document was created, changed or
 * deleted since it was read (`create` on an existing document, `update` on a missing one, a stale
 * `lastUpdateTime`). For a conditional write that is a lost race, to be answered by re-reading, not a fault.
 */
export function isPreconditionFailure(error: unknown): boolean {
  const status = grpcStatusOf(error);
  return status !== undefined && LOST_RACE.has(status);
}
