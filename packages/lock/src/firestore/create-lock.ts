import type { Firestore } from "@google-cloud/firestore";
import { type CreateLockOptions, createLock as createLockOn, type LockFunction } from "../common/lock.js";
import { createFirestoreBackend } from "./backend.js";
import type { FirestoreBackendOptions } from "./config.js";

/**
 * The SyncGuard-compatible shortcut: a `lock(fn, options)` function on a Firestore backend.
 *
 * @example
 * const lock = createLock(new Firestore());
 * await lock(({ fence }) => save(fence), { key: "invoice:42" });
 */
export function createLock(
  db: Firestore,
  options: FirestoreBackendOptions & CreateLockOptions = {},
): LockFunction {
  const { onEvent, ...backendOptions } = options;
  return createLockOn(createFirestoreBackend(db, backendOptions), onEvent ? { onEvent } : {});
}
