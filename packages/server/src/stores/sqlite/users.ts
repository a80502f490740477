import { queryReads } from "../billing.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import { assertLimit, isUuidV4, usernameKey } from "../keys.js";
import { newUserRecord } from "../records.js";
import type { NewUser, Ownership, Page, PasswordParams, Role, TenantId, User, UsersStore } from "../types.js";
import { recordSqlite, type SqliteContext, withSqlite } from "./context.js";

interface UserRow {
  id: string;
  tenant_id: string;
  username: string;
  username_key: string;
  role: Role;
  password_hash: string;
  algo_params: string;
  needs_rehash: number;
  created_at: number;
  updated_at: number;
}

const COLUMNS =
  "id, tenant_id, username, username_key, role, password_hash, algo_params, needs_rehash, created_at, updated_at";

function toUser(row: UserRow): User {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    username: row.username,
    role: row.role,
    password_hash: row.password_hash,
    algo_params: JSON.parse(row.algo_params) as PasswordParams,
    needs_rehash: row.needs_rehash === 1,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function createSqliteUsersStore(context: SqliteContext): UsersStore {
  const { db } = context;
  const insert = db.prepare(`INSERT INTO users (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const byId = db.prepare<[string], UserRow>(`SELECT ${COLUMNS} FROM users WHERE id = ?`);
  const byUsername = db.prepare<[string, string], UserRow>(
    `SELECT ${COLUMNS} FROM users WHERE tenant_id = ? AND username_key = ?`,
  );
  const page = db.prepare<[string, string, number], UserRow>(
    `SELECT ${COLUMNS} FROM users WHERE tenant_id = ? AND username_key > ? ORDER BY username_key LIMIT ?`,
  );
  const setRole = db.prepare("UPDATE users SET role = ?, updated_at = ? WHERE id = ? AND tenant_id = ?");
  const setPassword = db.prepare(
    "UPDATE users SET password_hash = ?, algo_params = ?, needs_rehash = ?, updated_at = ? WHERE id = ? AND tenant_id = ?",
  );
  const remove = db.prepare("DELETE FROM users WHERE id = ? AND tenant_id = ?");

  /** Reads the user by id in this tenant (one billed read), then applies `change` in the same transaction. */
  const updateOwned = (tenant: TenantId, id: string, change: (user: User, now: number) => User) =>
    withSqlite(
      db.transaction((): User | null => {
        const row = byId.get(id);
        if (!row || row.tenant_id !== tenant) {
          recordSqlite(context, "auth", 1, 0);
          return null;
        }
        const updated = change(toUser(row), context.clock());
        recordSqlite(context, "auth", 1, 1);
        return updated;
      }).immediate,
    );

  return {
    async create(tenant: TenantId, user: NewUser): Promise<User> {
      const created = newUserRecord(tenant, user, context.clock());
      withSqlite(
        () =>
          insert.run(
            created.id,
            tenant,
            created.username,
            usernameKey(created.username),
            created.role,
            created.password_hash,
            JSON.stringify(created.algo_params),
            created.needs_rehash ? 1 : 0,
            created.created_at,
            created.updated_at,
          ),
        "username or user id taken",
      );
      recordSqlite(context, "auth", 0, 1);
      return created;
    },

    async get(tenant: TenantId, id: string): Promise<User | null> {
      if (!isUuidV4(id)) return null;
      const row = withSqlite(() => byId.get(id));
      recordSqlite(context, "auth", 1, 0);
      return row && row.tenant_id === tenant ? toUser(row) : null;
    },

    async getByUsername(tenant: TenantId, username: string): Promise<User | null> {
      const row = withSqlite(() => byUsername.get(tenant, usernameKey(username)));
      recordSqlite(context, "auth", 1, 0);
      return row ? toUser(row) : null;
    },

    async list(tenant: TenantId, options = {}): Promise<Page<User>> {
      const limit = options.limit ?? 100;
      assertLimit(limit, 1000);
      const after = options.cursor ? decodeCursor("users", options.cursor).key : "";
      const rows = withSqlite(() => page.all(tenant, after, limit));
      recordSqlite(context, "auth", queryReads(rows.length), 0);
      const last = rows.at(-1);
      return {
        items: rows.map(toUser),
        next_cursor:
          rows.length === limit && last
            ? encodeCursor<"users">({ k: "users", key: last.username_key })
            : null,
      };
    },

    async updateRole(tenant: TenantId, id: string, role: Role): Promise<User | null> {
      if (!isUuidV4(id)) return null;
      return updateOwned(tenant, id, (user, now) => {
        setRole.run(role, now, id, tenant);
        return { ...user, role, updated_at: now };
      });
    },

    async updatePassword(tenant, id, password): Promise<User | null> {
      if (!isUuidV4(id)) return null;
      return updateOwned(tenant, id, (user, now) => {
        setPassword.run(
          password.password_hash,
          JSON.stringify(password.algo_params),
          password.needs_rehash ? 1 : 0,
          now,
          id,
          tenant,
        );
        return { ...user, ...password, updated_at: now };
      });
    },

    async delete(tenant: TenantId, id: string): Promise<boolean> {
      if (!isUuidV4(id)) return false;
      const { changes } = withSqlite(() => remove.run(id, tenant));
      recordSqlite(context, "auth", 0, changes);
      return changes > 0;
    },

    async ownership(tenant: TenantId, id: string): Promise<Ownership> {
      if (!isUuidV4(id)) return "missing";
      const row = withSqlite(() => byId.get(id));
      recordSqlite(context, "auth", 1, 0);
      if (!row) return "missing";
      return row.tenant_id === tenant ? "owned" : "other_tenant";
    },
  };
}
