import type { Statement } from "better-sqlite3";
import { completeAuditEntry } from "../audit-entry.js";
import { queryReads } from "../billing.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import { assertLimit } from "../keys.js";
import {
  AUDIT_RETENTION_MS,
  type AuditEntry,
  type AuditLogStore,
  type NewAuditEntry,
  type Page,
  type TenantId,
} from "../types.js";
import { recordSqlite, type SqliteContext, withSqlite } from "./context.js";

interface AuditRow extends Omit<AuditEntry, "details"> {
  details: string;
}

const COLUMNS =
  "tenant_id, id, action, user_id, timestamp_ms, outcome, target, ip, user_agent, details, source";

function toEntry(row: AuditRow): AuditEntry {
  return { ...row, details: JSON.parse(row.details) as Record<string, unknown> };
}

export function createSqliteAuditLogStore(context: SqliteContext): AuditLogStore {
  const { db } = context;
  // Re-appending an id is a no-op: the first write of an entry is the record.
  const insert = db.prepare(
    `INSERT INTO audit_log (${COLUMNS}, expire_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (tenant_id, id) DO NOTHING`,
  );
  // One statement per filter shape, so that each uses the index made for it.
  const queries = new Map<string, Statement<unknown[], AuditRow>>();
  const queryFor = (byUser: boolean, byAction: boolean, afterCursor: boolean) => {
    const key = `${byUser}:${byAction}:${afterCursor}`;
    let statement = queries.get(key);
    if (!statement) {
      const conditions = ["tenant_id = ?", "timestamp_ms > ?"];
      if (byUser) conditions.push("user_id = ?");
      if (byAction) conditions.push("action = ?");
      if (afterCursor) conditions.push("(timestamp_ms, id) < (?, ?)");
      // Pinned, as Firestore pins a query to its composite index: without statistics the planner
      // may prefer the time index and scan every entry of the tenant.
      const index = byUser
        ? byAction
          ? "audit_by_user_action"
          : "audit_by_user"
        : byAction
          ? "audit_by_action"
          : "audit_by_time";
      statement = db.prepare<unknown[], AuditRow>(
        `SELECT ${COLUMNS} FROM audit_log INDEXED BY ${index} WHERE ${conditions.join(" AND ")}
         ORDER BY timestamp_ms DESC, id DESC LIMIT ?`,
      );
      queries.set(key, statement);
    }
    return statement;
  };

  return {
    async append(tenant: TenantId, entry: NewAuditEntry): Promise<AuditEntry> {
      const stored = completeAuditEntry(tenant, entry);
      const { changes } = withSqlite(() =>
        insert.run(
          tenant,
          stored.id,
          stored.action,
          stored.user_id,
          stored.timestamp_ms,
          stored.outcome,
          stored.target,
          stored.ip,
          stored.user_agent,
          JSON.stringify(stored.details),
          stored.source,
          stored.timestamp_ms + AUDIT_RETENTION_MS,
        ),
      );
      recordSqlite(context, "audit", 0, changes);
      return stored;
    },

    async query(tenant, filter): Promise<Page<AuditEntry>> {
      assertLimit(filter.limit, 1000);
      const cursor = filter.cursor ? decodeCursor("audit", filter.cursor) : null;
      const parameters: unknown[] = [tenant, context.clock() - AUDIT_RETENTION_MS];
      if (filter.user_id !== undefined) parameters.push(filter.user_id);
      if (filter.action !== undefined) parameters.push(filter.action);
      if (cursor) parameters.push(cursor.t, cursor.id);
      parameters.push(filter.limit);
      const statement = queryFor(filter.user_id !== undefined, filter.action !== undefined, cursor !== null);
      const rows = withSqlite(() => statement.all(...parameters));
      recordSqlite(context, "audit", queryReads(rows.length), 0);
      const last = rows.at(-1);
      return {
        items: rows.map(toEntry),
        next_cursor:
          rows.length === filter.limit && last
            ? encodeCursor<"audit">({ k: "audit", t: last.timestamp_ms, id: last.id })
            : null,
      };
    },
  };
}
