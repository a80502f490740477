import type { Firestore } from "@google-cloud/firestore";
import { checkAborted } from "../common/abort.js";
import { isLive, TIME_TOLERANCE_MS } from "../common/time-predicates.js";
import type { FirestoreCapabilities, LockAdmin, LockListing, ReleaseResult } from "../common/types.js";
import { normalizeAndValidateKey } from "../common/validation.js";
import { type FirestoreBackendOptions, resolveFirestoreConfig } from "./config.js";
import { isLockDocument, lockRef, toLockListing } from "./documents.js";
import { withErrorMapping } from "./errors.js";

/**
 * Operator functions on the same collections as `createFirestoreBackend(db, options)`: list live locks,
 * inspect one, force-release one (what `firebrick locks` runs).
 *
 * @example
 * const admin = createFirestoreLockAdmin(db);
 * for (const lock of await admin.list()) console.log(lock.key, lock.fence, new Date(lock.expiresAtMs));
 */
export function createFirestoreLockAdmin(
  db: Firestore,
  options: FirestoreBackendOptions = {},
): LockAdmin<FirestoreCapabilities> {
  const ctx = resolveFirestoreConfig(db, options);
  return {
    async list(opts = {}) {
      const limit = opts.limit ?? 100;
      checkAborted(opts.signal);
      return withErrorMapping(async () => {
        // A single-field range on expiresAtMs: served by Firestore's automatic index.
        const snapshot = await db
          .collection(ctx.collection)
          .where("expiresAtMs", ">", ctx.now() - TIME_TOLERANCE_MS)
          .orderBy("expiresAtMs")
          .limit(limit)
          .get();
        checkAborted(opts.signal);
        const listings: LockListing<FirestoreCapabilities>[] = [];
        for (const doc of snapshot.docs) {
          const data = doc.data();
          if (isLockDocument(data)) listings.push(toLockListing(data));
        }
        return listings;
      });
    },
    async inspect(opts) {
      const key = normalizeAndValidateKey(opts.key);
      checkAborted(opts.signal);
      return withErrorMapping(async () => {
        const data = (await lockRef(ctx, key).get()).data();
        checkAborted(opts.signal);
        if (!isLockDocument(data) || !isLive(data.expiresAtMs, ctx.now(), TIME_TOLERANCE_MS)) return null;
        return toLockListing(data);
      });
    },
    async forceRelease(opts) {
      const key = normalizeAndValidateKey(opts.key);
      checkAborted(opts.signal);
      const ref = lockRef(ctx, key);
      return withErrorMapping(() =>
        db.runTransaction(async (trx): Promise<ReleaseResult> => {
          checkAborted(opts.signal);
          const data = (await trx.get(ref)).data();
          checkAborted(opts.signal);
          if (!isLockDocument(data)) return { ok: false };
          // Only the lock document: the fence counter must survive so that the next holder outranks the evicted one.
          trx.delete(ref);
          return { ok: isLive(data.expiresAtMs, ctx.now(), TIME_TOLERANCE_MS) };
        }),
      );
    },
  };
}
