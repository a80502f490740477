// `@firebrick/lock/firestore` (SyncGuard's `syncguard/firestore`): the Firestore backend and its helpers.
export type * from "../common/types.js";
export { createFirestoreLockAdmin } from "./admin.js";
export { createFirestoreBackend } from "./backend.js";
export {
  CLOCK_DRIFT_THRESHOLDS,
  type ClockDrift,
  driftLevel,
  type MeasureClockDriftOptions,
  measureClockDrift,
} from "./clock-drift.js";
export {
  type FirestoreBackendOptions,
  type FirestoreContext as FirestoreConfig,
  fenceDocumentId,
  lockDocumentId,
} from "./config.js";
export { createLock } from "./create-lock.js";
export { mapFirestoreError } from "./errors.js";
export {
  classifyFirestoreFailure,
  type FailureRetry,
  type FirestoreFailure,
  GrpcStatus,
  type GrpcStatusName,
  grpcStatusOf,
  isPreconditionFailure,
  isTransientFirestoreFailure,
} from "./failures.js";
export { type FencedWriteOptions, type FencedWriteResult, fencedWrite } from "./fenced-write.js";
export type { FenceCounterDocument, LockDocument } from "./types.js";
