export type * from "../common/types.js";
export { createFirestoreLockAdmin } from "./admin.js";
export { createFirestoreBackend } from "./backend.js";
export { type FirestoreBackendOptions, fenceDocumentId, lockDocumentId } from "./config.js";
export { createLock } from "./create-lock.js";
export { mapFirestoreError } from "./errors.js";
export {
  classifyFirestoreFailure,
  type FailureRetry,
  type FirestoreFailure,
  GrpcStatus,
  type GrpcStatusName,
  grpcStatusOf,
  isTransientFirestoreFailure,
} from "./failures.js";
export { type FencedWriteOptions, type FencedWriteResult, fencedWrite } from "./fenced-write.js";
export type { FenceCounterDocument, LockDocument } from "./types.js";
