import type { Firestore } from "@google-cloud/firestore";
import { decorateAcquireResult } from "../common/disposable.js";
import type { FirestoreCapabilities, LockBackend } from "../common/types.js";
import { normalizeAndValidateKey } from "../common/validation.js";
import { type FirestoreBackendOptions, resolveFirestoreConfig } from "./config.js";
import * as operations from "./operations/index.js";

/**
 * A lock backend on Firestore: lock documents in `collection`, persistent fence counters in
 * `fenceCollection`. Expiry is decided by Firestore's clock unless `timeAuthority: "client"`. Throws
 * `LockError("InvalidArgument")` on a bad configuration.
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
  const capabilities: Readonly<FirestoreCapabilities> = Object.freeze({
    backend: "firestore",
    supportsFencing: true,
    timeAuthority: ctx.timeAuthority,
  });
  const backend: LockBackend<FirestoreCapabilities> = {
    capabilities,
    acquire: async (opts) =>
      decorateAcquireResult(
        backend,
        await operations.acquire(ctx, opts),
        normalizeAndValidateKey(opts.key),
        ctx.onReleaseError,
        ctx.disposeTimeoutMs,
      ),
    release: (opts) => operations.release(ctx, opts),
    extend: (opts) => operations.extend(ctx, opts),
    isLocked: (opts) => operations.isLocked(ctx, opts),
    lookup: (opts) => operations.lookup(ctx, opts),
  };
  return backend;
}
