import { queryReads } from "../billing.js";
import { assertLimit, isSha256Hex } from "../keys.js";
import type { Session, SessionLookup, SessionsStore, TenantId } from "../types.js";
import { recordSqlite, type SqliteContext, withSqlite } from "./context.js";

const COLUMNS = "id, tenant_id, user_id, created_at, last_seen_at, expires_at, fingerprint, user_agent, ip";

export function createSqliteSessionsStore(context: SqliteContext): SessionsStore {
  const { db } = context;
  const insert = db.prepare(`INSERT INTO sessions (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const byId = db.prepare<[string], Session>(`SELECT ${COLUMNS} FROM sessions WHERE id = ?`);
  const touch = db.prepare("UPDATE sessions SET last_seen_at = ? WHERE id = ? AND tenant_id = ?");
  const byUser = db.prepare<[string, string], Session>(
    `SELECT ${COLUMNS} FROM sessions WHERE tenant_id = ? AND user_id = ?`,
  );
  const remove = db.prepare("DELETE FROM sessions WHERE id = ? AND tenant_id = ?");
  const removeById = db.prepare("DELETE FROM sessions WHERE id = ?");
  // Two queries, as in Firestore (an OR across two fields needs no index there either).
  const absoluteExpired = db.prepare<[number, number], { id: string }>(
    "SELECT id FROM sessions WHERE expires_at <= ? LIMIT ?",
  );
  const idleExpired = db.prepare<[number, number], { id: string }>(
    "SELECT id FROM sessions WHERE last_seen_at <= ? LIMIT ?",
  );
  const count = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM sessions");
  const removeAll = db.prepare("DELETE FROM sessions");

  return {
    async create(session: Session): Promise<void> {
      if (!isSha256Hex(session.id)) throw new RangeError("session id must be a SHA-256 hex digest");
      withSqlite(
        () =>
          insert.run(
            session.id,
            session.tenant_id,
            session.user_id,
            session.created_at,
            session.last_seen_at,
            session.expires_at,
            session.fingerprint,
            session.user_agent,
            session.ip,
          ),
        "session id exists",
      );
      recordSqlite(context, "sessions", 0, 1);
    },

    async find(tenant: TenantId, id: string): Promise<SessionLookup> {
      if (!isSha256Hex(id)) return { status: "missing" };
      const row = withSqlite(() => byId.get(id));
      recordSqlite(context, "sessions", 1, 0);
      if (!row || row.expires_at <= context.clock()) return { status: "missing" };
      if (row.tenant_id !== tenant) return { status: "other_tenant" };
      return { status: "found", session: row };
    },

    async touch(tenant: TenantId, id: string, lastSeenAt: number): Promise<void> {
      if (!isSha256Hex(id)) return;
      const { changes } = withSqlite(() => touch.run(lastSeenAt, id, tenant));
      recordSqlite(context, "sessions", 0, changes);
    },

    async listByUser(tenant: TenantId, userId: string): Promise<Session[]> {
      const rows = withSqlite(() => byUser.all(tenant, userId));
      recordSqlite(context, "sessions", queryReads(rows.length), 0);
      const now = context.clock();
      return rows.filter((row) => row.expires_at > now).sort((a, b) => b.created_at - a.created_at);
    },

    async delete(tenant: TenantId, id: string): Promise<boolean> {
      if (!isSha256Hex(id)) return false;
      const { changes } = withSqlite(() => remove.run(id, tenant));
      recordSqlite(context, "sessions", 0, changes);
      return changes > 0;
    },

    async deleteAllForUser(tenant: TenantId, userId: string, options = {}): Promise<number> {
      return withSqlite(
        db.transaction(() => {
          const rows = byUser.all(tenant, userId);
          let deleted = 0;
          for (const row of rows) {
            if (row.id === options.exceptId) continue;
            deleted += remove.run(row.id, tenant).changes;
          }
          recordSqlite(context, "sessions", queryReads(rows.length), deleted);
          return deleted;
        }).immediate,
      );
    },

    async deleteExpired(now: number, options: { idleTimeoutMs: number; limit: number }): Promise<number> {
      assertLimit(options.limit);
      return withSqlite(
        db.transaction(() => {
          const absolute = absoluteExpired.all(now, options.limit);
          const idle = idleExpired.all(now - options.idleTimeoutMs, options.limit);
          const ids = [...new Set([...absolute, ...idle].map((row) => row.id))].slice(0, options.limit);
          let deleted = 0;
          for (const id of ids) deleted += removeById.run(id).changes;
          recordSqlite(context, "sessions", queryReads(absolute.length) + queryReads(idle.length), deleted);
          return deleted;
        }).immediate,
      );
    },

    async deleteAll(): Promise<number> {
      return withSqlite(
        db.transaction(() => {
          const { n } = count.get() ?? { n: 0 };
          const { changes } = removeAll.run();
          recordSqlite(context, "sessions", queryReads(n), changes);
          return changes;
        }).immediate,
      );
    },
  };
}
