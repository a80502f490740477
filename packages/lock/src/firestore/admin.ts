import type { DocumentReference, Firestore } from "@google-cloud/firestore";
import { checkAborted } from "../common/abort.js";
import { isLive, TIME_TOLERANCE_MS } from "../common/time-predicates.js";
import type { FirestoreCapabilities, LockAdmin, LockListing, ReleaseResult } from "../common/types.js";
import { normalizeAndValidateKey } from "../common/validation.js";
import { type FirestoreBackendOptions, type FirestoreContext, resolveFirestoreConfig } from "./config.js";
import { deleteIfUnchanged, isLockDocument, lockRef, toLockListing, untilSettled } from "./documents.js";
import { withErrorMapping } from "./errors.js";
import { OperationTime } from "./time.js";
import type { LockDocument } from "./types.js";

/** A document id no lock can have (lock ids start with `k` or `h`): read only for its read time. */
const CLOCK_PROBE_ID = "~server-time";

/**
 * Operator functions on the same collections as `createFirestoreBackend(db, options)`: list live locks,
 * inspect one, force-release one (what `firebrick locks` runs). Same time authority as the backend; times
 * are on the caller's clock.
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
        const time = new OperationTime(ctx);
        // A single-field range on expiresAtMs: served by Firestore's automatic index. Its lower bound must be
        // on the authority's clock; the exact liveness check then runs at the query's own read time.
        const bound = await authorityNow(ctx);
        const snapshot = await db
          .collection(ctx.collection)
          .where("expiresAtMs", ">", bound - TIME_TOLERANCE_MS)
          .orderBy("expiresAtMs")
          .limit(limit)
          .get();
        checkAborted(opts.signal);
        const nowMs = time.decide(snapshot.readTime);
        const listings: LockListing<FirestoreCapabilities>[] = [];
        for (const doc of snapshot.docs) {
          const data = doc.data();
          if (isLockDocument(data) && isLive(data.expiresAtMs, nowMs, TIME_TOLERANCE_MS)) {
            listings.push(toLockListing(data, time));
          }
        }
        return listings;
      });
    },
    async inspect(opts) {
      const key = normalizeAndValidateKey(opts.key);
      checkAborted(opts.signal);
      return withErrorMapping(async () => {
        const time = new OperationTime(ctx);
        const snapshot = await lockRef(ctx, key).get();
        checkAborted(opts.signal);
        const data = snapshot.data();
        if (!isLockDocument(data)) return null;
        if (!isLive(data.expiresAtMs, time.decide(snapshot.readTime), TIME_TOLERANCE_MS)) return null;
        return toLockListing(data, time);
      });
    },
    async forceRelease(opts) {
      const key = normalizeAndValidateKey(opts.key);
      checkAborted(opts.signal);
      const ref = lockRef(ctx, key) as DocumentReference<LockDocument>;
      return withErrorMapping(() =>
        untilSettled(async (): Promise<ReleaseResult | undefined> => {
          const time = new OperationTime(ctx);
          const snapshot = await ref.get();
          checkAborted(opts.signal);
          const data = snapshot.data();
          if (!isLockDocument(data) || !snapshot.updateTime) return { ok: false };
          const live = isLive(data.expiresAtMs, time.decide(snapshot.readTime), TIME_TOLERANCE_MS);
          // Only the lock document: the fence counter must survive so that the next holder outranks the evicted one.
          return (await deleteIfUnchanged(ctx, ref, snapshot.updateTime)) ? { ok: live } : undefined;
        }),
      );
    },
  };
}

/** "Now" on the backend's time authority: Firestore's read time of a probe read, or this client's clock. */
async function authorityNow(ctx: FirestoreContext): Promise<number> {
  if (ctx.timeAuthority === "client") return ctx.now();
  const [probe] = await ctx.db.getAll(ctx.db.collection(ctx.collection).doc(CLOCK_PROBE_ID));
  const time = new OperationTime(ctx);
  return time.decide(probe?.readTime);
}
