import { grpcStatusOf } from "@firebrick/lock/firestore";
import { type DocumentData, FieldPath, Timestamp } from "@google-cloud/firestore";
import { completeAuditEntry } from "../audit-entry.js";
import { queryReads } from "../billing.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import { assertLimit, sha256 } from "../keys.js";
import {
  AUDIT_RETENTION_MS,
  type AuditEntry,
  type AuditLogStore,
  type NewAuditEntry,
  type Page,
  type TenantId,
} from "../types.js";
import { type FirestoreContext, recordFirestore, translateFirestoreError, withFirestore } from "./context.js";

/**
 * An entry's document id. Entry ids are unique per tenant only (a backfill keeps legacy ids, which
 * two tenants may share), and may contain "/"; hashing the pair gives a valid, unique id.
 */
export function auditDocumentId(tenant: TenantId, entryId: string): string {
  return sha256(`audit\u0000${tenant}\u0000${entryId}`).slice(0, 40);
}

function toEntry(data: DocumentData): AuditEntry {
  return {
    id: data.id as string,
    tenant_id: data.tenant_id as string,
    action: data.action as string,
    user_id: data.user_id as string | null,
    timestamp_ms: data.timestamp_ms as number,
    outcome: data.outcome as AuditEntry["outcome"],
    target: data.target as string | null,
    ip: data.ip as string | null,
    user_agent: data.user_agent as string | null,
    details: data.details as Record<string, unknown>,
    source: data.source as AuditEntry["source"],
  };
}

export function createFirestoreAuditLogStore(context: FirestoreContext): AuditLogStore {
  const auditLog = context.db.collection(context.collections.audit_log);

  return {
    async append(tenant: TenantId, entry: NewAuditEntry): Promise<AuditEntry> {
      const stored = completeAuditEntry(tenant, entry);
      const reference = auditLog.doc(auditDocumentId(tenant, stored.id));
      let written = 0;
      try {
        await reference.create({
          ...stored,
          expire_at: Timestamp.fromMillis(stored.timestamp_ms + AUDIT_RETENTION_MS),
        });
        written = 1;
      } catch (error) {
        // The entry is there already: an idempotent re-append (backfill re-run) is done.
        if (grpcStatusOf(error) !== "ALREADY_EXISTS") throw translateFirestoreError(error);
      } finally {
        recordFirestore(context, "audit", 0, written);
      }
      return stored;
    },

    async query(tenant, filter): Promise<Page<AuditEntry>> {
      assertLimit(filter.limit, 1000);
      // Composite indexes (tenant_id, [user_id], [action], timestamp_ms desc), implicit __name__ desc.
      let query = auditLog.where("tenant_id", "==", tenant);
      if (filter.user_id !== undefined) query = query.where("user_id", "==", filter.user_id);
      if (filter.action !== undefined) query = query.where("action", "==", filter.action);
      query = query
        .where("timestamp_ms", ">", context.clock() - AUDIT_RETENTION_MS)
        .orderBy("timestamp_ms", "desc")
        .orderBy(FieldPath.documentId(), "desc");
      if (filter.cursor) {
        const cursor = decodeCursor("audit", filter.cursor);
        query = query.startAfter(cursor.t, auditDocumentId(tenant, cursor.id));
      }
      const snapshot = await withFirestore(() => query.limit(filter.limit).get());
      recordFirestore(context, "audit", queryReads(snapshot.size), 0);
      const items = snapshot.docs.map((doc) => toEntry(doc.data()));
      const last = items.at(-1);
      return {
        items,
        next_cursor:
          items.length === filter.limit && last
            ? encodeCursor<"audit">({ k: "audit", t: last.timestamp_ms, id: last.id })
            : null,
      };
    },
  };
}
