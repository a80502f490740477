import { grpcStatusOf } from "@firebrick/lock/firestore";
import { type DocumentData, type QueryDocumentSnapshot, Timestamp } from "@google-cloud/firestore";
import { BoundedMap } from "../../bounded-map.js";
import { queryReads } from "../billing.js";
import { assertLimit, isSha256Hex } from "../keys.js";
import type { Session, SessionLookup, SessionsStore, TenantId } from "../types.js";
import {
  deleteOwnedDocument,
  type FirestoreContext,
  recordFirestore,
  runBilledTransaction,
  withFirestore,
} from "./context.js";

function toSession(id: string, data: DocumentData): Session {
  return {
    id,
    tenant_id: data.tenant_id as string,
    user_id: data.user_id as string,
    created_at: data.created_at as number,
    last_seen_at: data.last_seen_at as number,
    expires_at: (data.expires_at as Timestamp).toMillis(),
    fingerprint: data.fingerprint as string,
    user_agent: data.user_agent as string | null,
    ip: data.ip as string | null,
  };
}

// A batch holds at most 500 writes.
const BATCH_LIMIT = 500;
// Sessions whose tenant this process has seen; bounded, the least recently used forgotten first.
const KNOWN_TENANTS_LIMIT = 10_000;

export function createFirestoreSessionsStore(context: FirestoreContext): SessionsStore {
  const sessions = context.db.collection(context.collections.sessions);

  /**
   * A session's tenant never changes, so once this process has read or written a session it knows
   * the tenant for good. That lets `touch` (after the `find` of the same request) check the tenant
   * without reading the document again: a session check stays at one read (docs/design/sessions.md).
   */
  const knownTenants = new BoundedMap<string, TenantId>(KNOWN_TENANTS_LIMIT);

  const deleteInBatches = async (documents: QueryDocumentSnapshot[]) => {
    for (let start = 0; start < documents.length; start += BATCH_LIMIT) {
      const batch = context.db.batch();
      for (const doc of documents.slice(start, start + BATCH_LIMIT)) batch.delete(doc.ref);
      await withFirestore(() => batch.commit());
    }
  };

  return {
    async create(session: Session): Promise<void> {
      if (!isSha256Hex(session.id)) throw new RangeError("session id must be a SHA-256 hex digest");
      const { id, expires_at, ...fields } = session;
      await withFirestore(
        () => sessions.doc(id).create({ ...fields, expires_at: Timestamp.fromMillis(expires_at) }),
        "session id exists",
      );
      recordFirestore(context, "sessions", 0, 1);
      knownTenants.set(id, session.tenant_id);
    },

    async find(tenant: TenantId, id: string): Promise<SessionLookup> {
      if (!isSha256Hex(id)) return { status: "missing" };
      const snapshot = await withFirestore(() => sessions.doc(id).get());
      recordFirestore(context, "sessions", 1, 0);
      const data = snapshot.data();
      if (!data) return { status: "missing" };
      const session = toSession(id, data);
      knownTenants.set(id, session.tenant_id);
      // TTL deletion lags up to a day: an expired document may still be there.
      if (session.expires_at <= context.clock()) return { status: "missing" };
      if (session.tenant_id !== tenant) return { status: "other_tenant" };
      return { status: "found", session };
    },

    async touch(tenant: TenantId, id: string, lastSeenAt: number): Promise<void> {
      if (!isSha256Hex(id)) return;
      const known = knownTenants.get(id);
      if (known !== undefined && known !== tenant) return;
      if (known === tenant) {
        try {
          await withFirestore(() => sessions.doc(id).update({ last_seen_at: lastSeenAt }));
          recordFirestore(context, "sessions", 0, 1);
        } catch (error) {
          // Deleted meanwhile (logout, sweeper): nothing to refresh.
          if (grpcStatusOf(error) !== "NOT_FOUND") throw error;
          recordFirestore(context, "sessions", 0, 0);
        }
        return;
      }
      await runBilledTransaction(context, "sessions", async (transaction, bill) => {
        const reference = sessions.doc(id);
        const snapshot = await transaction.get(reference);
        bill.read();
        const owner = snapshot.get("tenant_id") as string | undefined;
        if (owner === undefined) return;
        knownTenants.set(id, owner);
        if (owner !== tenant) return;
        transaction.update(reference, { last_seen_at: lastSeenAt });
        bill.write();
      });
    },

    async listByUser(tenant: TenantId, userId: string): Promise<Session[]> {
      const snapshot = await withFirestore(() =>
        sessions.where("tenant_id", "==", tenant).where("user_id", "==", userId).get(),
      );
      recordFirestore(context, "sessions", queryReads(snapshot.size), 0);
      const now = context.clock();
      return snapshot.docs
        .map((doc) => toSession(doc.id, doc.data()))
        .filter((session) => session.expires_at > now)
        .sort((a, b) => b.created_at - a.created_at);
    },

    async delete(tenant: TenantId, id: string): Promise<boolean> {
      if (!isSha256Hex(id)) return false;
      return deleteOwnedDocument(context, "sessions", sessions.doc(id), tenant);
    },

    async deleteAllForUser(tenant: TenantId, userId: string, options = {}): Promise<number> {
      const snapshot = await withFirestore(() =>
        sessions.where("tenant_id", "==", tenant).where("user_id", "==", userId).get(),
      );
      const doomed = snapshot.docs.filter((doc) => doc.id !== options.exceptId);
      let deleted = 0;
      try {
        await deleteInBatches(doomed);
        deleted = doomed.length;
      } finally {
        recordFirestore(context, "sessions", queryReads(snapshot.size), deleted);
      }
      return deleted;
    },

    async deleteExpired(now: number, options: { idleTimeoutMs: number; limit: number }): Promise<number> {
      assertLimit(options.limit);
      // Two single-field range queries: Firestore cannot OR two ranges on different fields cheaply.
      const [absolute, idle] = await Promise.all([
        withFirestore(() =>
          sessions.where("expires_at", "<=", Timestamp.fromMillis(now)).limit(options.limit).get(),
        ),
        withFirestore(() =>
          sessions
            .where("last_seen_at", "<=", now - options.idleTimeoutMs)
            .limit(options.limit)
            .get(),
        ),
      ]);
      const candidates = new Map<string, QueryDocumentSnapshot>();
      for (const doc of [...absolute.docs, ...idle.docs]) {
        if (candidates.size < options.limit) candidates.set(doc.id, doc);
      }
      // Each delete is conditional on the document being unchanged since the query: a session touched
      // in between is alive again and must survive.
      const outcomes = await Promise.all(
        [...candidates.values()].map(async (doc) => {
          try {
            await withFirestore(() => doc.ref.delete({ lastUpdateTime: doc.updateTime }));
            return 1;
          } catch (error) {
            const status = grpcStatusOf(error);
            if (status === "FAILED_PRECONDITION" || status === "NOT_FOUND") return 0;
            throw error;
          }
        }),
      );
      const deleted = outcomes.reduce<number>((sum, outcome) => sum + outcome, 0);
      recordFirestore(context, "sessions", queryReads(absolute.size) + queryReads(idle.size), deleted);
      return deleted;
    },

    async deleteAll(): Promise<number> {
      let deleted = 0;
      let reads = 0;
      try {
        for (;;) {
          // Only the ids are needed; a projection still bills one read per document.
          const page = await withFirestore(() => sessions.select().limit(BATCH_LIMIT).get());
          reads += queryReads(page.size);
          if (page.empty) break;
          await deleteInBatches(page.docs);
          deleted += page.size;
        }
      } finally {
        recordFirestore(context, "sessions", reads, deleted);
      }
      knownTenants.clear();
      return deleted;
    },
  };
}
