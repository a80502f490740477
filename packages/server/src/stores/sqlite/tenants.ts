import { queryReads } from "../billing.js";
import { isTenantId } from "../keys.js";
import type { Tenant, TenantId, TenantsStore } from "../types.js";
import { recordSqlite, type SqliteContext, withSqlite } from "./context.js";

interface TenantRow {
  id: string;
  name: string;
  created_at: number;
}

export function createSqliteTenantsStore(context: SqliteContext): TenantsStore {
  const { db } = context;
  const insert = db.prepare("INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)");
  const byId = db.prepare<[string], TenantRow>("SELECT id, name, created_at FROM tenants WHERE id = ?");
  const all = db.prepare<[], TenantRow>("SELECT id, name, created_at FROM tenants ORDER BY id");

  return {
    async create(tenant: { id: TenantId; name?: string }): Promise<Tenant> {
      if (!isTenantId(tenant.id)) throw new RangeError("tenant id must be 1–63 letters, digits, '_' or '-'");
      const created: Tenant = { id: tenant.id, name: tenant.name ?? tenant.id, created_at: context.clock() };
      withSqlite(
        () => insert.run(created.id, created.name, created.created_at),
        `tenant ${tenant.id} exists`,
      );
      recordSqlite(context, "tenants", 0, 1);
      return created;
    },

    async get(id: TenantId): Promise<Tenant | null> {
      if (!isTenantId(id)) return null;
      const row = withSqlite(() => byId.get(id));
      recordSqlite(context, "tenants", 1, 0);
      return row ?? null;
    },

    async list(): Promise<Tenant[]> {
      const rows = withSqlite(() => all.all());
      recordSqlite(context, "tenants", queryReads(rows.length), 0);
      return rows;
    },
  };
}
