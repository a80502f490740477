import type { Firestore } from "@google-cloud/firestore";
import { toAcquireHandle } from "../common/disposable.js";
import type { FirestoreCapabilities, LockBackend } from "../common/types.js";
import { type FirestoreBackendOptions, resolveFirestoreConfig } from "./config.js";
import * as operations from "./operations/index.js";

const CAPABILITIES: Readonly<FirestoreCapabilities> = Object.freeze({
  backend: "firestore",
  supportsFencing: true,
  timeAuthority: "client",
});

/**
 * A lock backend on Firestore: lock documents in `collection`, persistent fence counters in
 * `fenceCollection`. Throws `LockError("InvalidArgument")` on a bad configuration.
 *
 * @example
 * const backend = createFirestoreBackend(new Firestore(), { collection: "app_locks" });
 * await using lock = await backend.acquire({ key: "invoice:42", ttlMs: 30_000 });
 * if (lock.ok) await save(lock.fence);
 */
export function createFirestoreBackend(
  db: Firestore,
  options: FirestoreBackendOptions = {},
): LockBackend<FirestoreCapabilities> {
  const ctx = resolveFirestoreConfig(db, options);
  const backend: LockBackend<FirestoreCapabilities> = {
    capabilities: CAPABILITIES,
    acquire: async (opts) => toAcquireHandle(backend, await operations.acquire(ctx, opts)),
    release: (opts) => operations.release(ctx, opts),
    extend: (opts) => operations.extend(ctx, opts),
    isLocked: (opts) => operations.isLocked(ctx, opts),
    lookup: (opts) => operations.lookup(ctx, opts),
  };
  return backend;
}
