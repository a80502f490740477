export { abortableDelay, checkAborted } from "./common/abort.js";
export {
  BACKEND_DEFAULTS,
  FENCE_DIGITS,
  FENCE_THRESHOLDS,
  LOCK_DEFAULTS,
  MAX_KEY_LENGTH_BYTES,
} from "./common/constants.js";
export { generateLockId, hashKey, makeStorageKey } from "./common/crypto.js";
export { toAcquireHandle } from "./common/disposable.js";
export {
  isTransientLockError,
  LOCK_ERROR_CODES,
  LockError,
  type LockErrorCode,
} from "./common/errors.js";
export { compareFences, formatFence } from "./common/fence.js";
export {
  type AcquisitionOptions,
  type AutoExtendOptions,
  type CreateLockOptions,
  createLock,
  type LockContext,
  type LockFunction,
  type LockOptions,
  lock,
} from "./common/lock.js";
export {
  type LockEvent,
  type LockEventListener,
  type LockRunEvent,
  type OperationEvent,
  withTelemetry,
} from "./common/telemetry.js";
export { isLive, TIME_TOLERANCE_MS } from "./common/time-predicates.js";
export type * from "./common/types.js";
export { normalizeAndValidateKey, validateLockId, validateTtlMs } from "./common/validation.js";
