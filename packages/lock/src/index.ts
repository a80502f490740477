// The root entry point: what an application needs, under SyncGuard's names (`syncguard` → `@firebrick/lock`).
// Helpers for writing a backend live in `@firebrick/lock/common`; the backends in `/firestore` and `/sqlite`.

export {
  BACKEND_DEFAULTS,
  BACKEND_LIMITS,
  FENCE_THRESHOLDS,
  LOCK_DEFAULTS,
  MAX_KEY_LENGTH_BYTES,
  RESERVE_BYTES,
} from "./common/constants.js";
export { generateLockId, hashKey } from "./common/crypto.js";
export {
  getById,
  getByIdRaw,
  getByKey,
  getByKeyRaw,
  owns,
  sanitizeLockInfo,
} from "./common/diagnostics.js";
export {
  type AsyncLock,
  acquireHandle,
  type DisposableLockHandle,
  decorateAcquireResult,
} from "./common/disposable.js";
export {
  isTransientLockError,
  LockError,
  type LockErrorCode,
  type LockErrorContext,
} from "./common/errors.js";
export { compareFences, hasFence } from "./common/fence.js";
export {
  type AutoExtendOptions,
  type CreateLockOptions,
  createLock,
  type LockConfig,
  type LockContext,
  type LockFunction,
  type LockOptions,
  lock,
} from "./common/lock.js";
export {
  type LockEventListener,
  type LockRunEvent,
  type LockTelemetryEvent,
  type OperationEvent,
  withTelemetry,
} from "./common/telemetry.js";
export { isLive, TIME_TOLERANCE_MS } from "./common/time-predicates.js";
export type {
  AcquireHandle,
  AcquireOk,
  AcquireResult,
  AcquisitionOptions,
  BackendCapabilities,
  BackendConfig,
  DecoratedAcquireResult,
  ExtendResult,
  Fence,
  HashId,
  KeyLookup,
  KeyOp,
  LockAdmin,
  LockBackend,
  LockEvent,
  LockInfo,
  LockInfoDebug,
  LockListing,
  LockLogger,
  LockOp,
  OnReleaseError,
  OwnershipLookup,
  ReleaseResult,
  TelemetryOptions,
  TimeAuthority,
} from "./common/types.js";
export { normalizeAndValidateKey, validateLockId } from "./common/validation.js";
