// `@firebrick/lock/common` (SyncGuard's `syncguard/common`): everything the root exports, plus the helpers a
// backend is built from. Applications should not need it; custom backends and tests of them do.
export * from "../index.js";
export { abortableDelay, checkAborted, delay } from "./abort.js";
export {
  FAILURE_REASON,
  failureReasonOf,
  type MutationCondition,
  type MutationReason,
  type MutationResult,
  mapFirestoreConditions,
  mapToMutationResult,
  refused,
} from "./backend-semantics.js";
export { mergeAcquisitionConfig, mergeBackendConfig } from "./config.js";
export { DEFAULT_MAX_EXTENSIONS, FENCE_DIGITS } from "./constants.js";
export { makeStorageKey } from "./crypto.js";
export { attachRawData } from "./diagnostics.js";
export { createDisposableHandle, defaultDisposalErrorHandler } from "./disposable.js";
export { LOCK_ERROR_CODES, TRANSIENT_ERROR_CODES } from "./errors.js";
export { formatFence, logFenceWarning, nextFence, parseFence } from "./fence.js";
export { consoleLockLogger } from "./logger.js";
export type { FirestoreCapabilities, SqliteCapabilities } from "./types.js";
export { validateTtlMs } from "./validation.js";
