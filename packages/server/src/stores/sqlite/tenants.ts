import { queryReads } from "../billing.js";
import { isTenantId } from "../keys.js";
import { DEFAULT_TIME_ZONE, type Tenant, type TenantId, type TenantsStore } from "../types.js";
import { recordSqlite, type SqliteContext, withSqlite } from "./context.js";

interface TenantRow {
  id: string;
  name: string;
  created_at: number;
  time_zone: string;
  time_zone_since: number;
}

export function createSqliteTenantsStore(context: SqliteContext): TenantsStore {
  const { db } = context;
  const insert = db.prepare(
    "INSERT INTO tenants (id, name, created_at, time_zone, time_zone_since) VALUES (?, ?, ?, ?, ?)",
  );
  const byId = db.prepare<[string], TenantRow>(
    "SELECT id, name, created_at, time_zone, time_zone_since FROM tenants WHERE id = ?",
  );
  const all = db.prepare<[], TenantRow>(
    "SELECT id, name, created_at, time_zone, time_zone_since FROM tenants ORDER BY id",
  );
  const setZone = db.prepare<[string, number, string], TenantRow>(
    "UPDATE tenants SET time_zone = ?, time_zone_since = ? WHERE id = ? RETURNING id, name, created_at, time_zone, time_zone_since",
  );

  return {
    async create(tenant: { id: TenantId; name?: string }): Promise<Tenant> {
      if (!isTenantId(tenant.id)) throw new RangeError("tenant id must be 1–63 letters, digits, '_' or '-'");
      const created: Tenant = {
        id: tenant.id,
        name: tenant.name ?? tenant.id,
        created_at: context.clock(),
        time_zone: DEFAULT_TIME_ZONE,
        time_zone_since: 0,
      };
      withSqlite(
        () =>
          insert.run(
            created.id,
            created.name,
            created.created_at,
            created.time_zone,
            created.time_zone_since,
          ),
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

    async setTimeZone(id: TenantId, timeZone: string): Promise<Tenant | null> {
      if (!isTenantId(id)) return null;
      const row = withSqlite(() => setZone.get(timeZone, context.clock(), id));
      recordSqlite(context, "tenants", 1, row ? 1 : 0);
      return row ?? null;
    },
  };
}
