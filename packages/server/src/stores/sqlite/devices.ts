import { queryReads } from "../billing.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import { assertEpochMs, assertLimit, isUuidV4 } from "../keys.js";
import { newDeviceRecord } from "../records.js";
import type { Device, DeviceChange, DevicesStore, Ownership, Page, TenantId } from "../types.js";
import { recordSqlite, type SqliteContext, withSqlite } from "./context.js";

const COLUMNS =
  "id, tenant_id, name, token_hash, created_at, token_rotated_at, site, building, floor, zone, points, last_seen_ms";

interface DeviceRow {
  id: string;
  tenant_id: string;
  name: string;
  token_hash: string;
  created_at: number;
  token_rotated_at: number;
  site: string | null;
  building: string | null;
  floor: string | null;
  zone: string | null;
  points: string;
  last_seen_ms: number | null;
}

function toDevice(row: DeviceRow): Device {
  const { site, building, floor, zone, points, ...rest } = row;
  return { ...rest, location: { site, building, floor, zone }, points: JSON.parse(points) };
}

export function createSqliteDevicesStore(context: SqliteContext): DevicesStore {
  const { db } = context;
  const insert = db.prepare(
    "INSERT INTO devices (id, tenant_id, name, token_hash, created_at, token_rotated_at) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const byId = db.prepare<[string], DeviceRow>(`SELECT ${COLUMNS} FROM devices WHERE id = ?`);
  const firstPage = db.prepare<[string, number], DeviceRow>(
    `SELECT ${COLUMNS} FROM devices WHERE tenant_id = ? ORDER BY name, id LIMIT ?`,
  );
  const nextPage = db.prepare<[string, string, string, number], DeviceRow>(
    `SELECT ${COLUMNS} FROM devices WHERE tenant_id = ? AND (name, id) > (?, ?) ORDER BY name, id LIMIT ?`,
  );
  const remove = db.prepare("DELETE FROM devices WHERE id = ? AND tenant_id = ?");
  const setFields = db.prepare(
    `UPDATE devices SET name = ?, token_hash = ?, token_rotated_at = ?, site = ?, building = ?, floor = ?,
     zone = ?, points = ? WHERE id = ? AND tenant_id = ?`,
  );

  /**
   * Reads the tenant's device in a transaction and writes the fields `change` makes of it; null writes
   * nothing. Null when there is no such device.
   */
  const changeOwned = async (
    tenant: TenantId,
    id: string,
    change: (device: Device) => Partial<Omit<Device, "id" | "tenant_id" | "last_seen_ms">> | null,
  ): Promise<Device | null> => {
    if (!isUuidV4(id)) return null;
    return withSqlite(
      db.transaction((): Device | null => {
        const row = byId.get(id);
        let writes = 0;
        try {
          if (!row || row.tenant_id !== tenant) return null;
          const current = toDevice(row);
          const fields = change(current);
          if (!fields) return current;
          const next = { ...current, ...fields };
          const { site, building, floor, zone } = next.location;
          setFields.run(
            next.name,
            next.token_hash,
            next.token_rotated_at,
            site,
            building,
            floor,
            zone,
            JSON.stringify(next.points),
            id,
            tenant,
          );
          writes = 1;
          return next;
        } finally {
          recordSqlite(context, "devices", 1, writes);
        }
      }).immediate,
    );
  };
  const setSeen = db.prepare("UPDATE devices SET last_seen_ms = ? WHERE id = ? AND tenant_id = ?");

  return {
    async create(
      tenant: TenantId,
      device: { id?: string; name: string; token_hash: string },
    ): Promise<Device> {
      const created = newDeviceRecord(tenant, device, context.clock());
      withSqlite(
        () =>
          insert.run(
            created.id,
            tenant,
            created.name,
            created.token_hash,
            created.created_at,
            created.token_rotated_at,
          ),
        "device id taken",
      );
      recordSqlite(context, "devices", 0, 1);
      return created;
    },

    async get(tenant: TenantId, id: string): Promise<Device | null> {
      if (!isUuidV4(id)) return null;
      const row = withSqlite(() => byId.get(id));
      recordSqlite(context, "devices", 1, 0);
      return row && row.tenant_id === tenant ? toDevice(row) : null;
    },

    async list(tenant: TenantId, options = {}): Promise<Page<Device>> {
      const limit = options.limit ?? 100;
      assertLimit(limit, 1000);
      const after = options.cursor ? decodeCursor("devices", options.cursor) : null;
      const rows = withSqlite(() =>
        after ? nextPage.all(tenant, after.name, after.id, limit) : firstPage.all(tenant, limit),
      );
      recordSqlite(context, "devices", queryReads(rows.length), 0);
      const last = rows.at(-1);
      return {
        items: rows.map(toDevice),
        next_cursor:
          rows.length === limit && last
            ? encodeCursor<"devices">({ k: "devices", name: last.name, id: last.id })
            : null,
      };
    },

    async delete(tenant: TenantId, id: string): Promise<boolean> {
      if (!isUuidV4(id)) return false;
      const { changes } = withSqlite(() => remove.run(id, tenant));
      recordSqlite(context, "devices", 0, changes);
      return changes > 0;
    },

    async setTokenHash(tenant: TenantId, id: string, tokenHash: string): Promise<Device | null> {
      return changeOwned(tenant, id, () => ({ token_hash: tokenHash, token_rotated_at: context.clock() }));
    },

    async update(
      tenant: TenantId,
      id: string,
      change: (device: Device) => DeviceChange | null,
    ): Promise<Device | null> {
      return changeOwned(tenant, id, change);
    },

    async recordSeen(tenant: TenantId, id: string, at: number): Promise<void> {
      assertEpochMs(at, "last_seen_ms");
      if (!isUuidV4(id)) return;
      const { changes } = withSqlite(() => setSeen.run(at, id, tenant));
      recordSqlite(context, "devices", 0, changes);
    },

    async ownership(tenant: TenantId, id: string): Promise<Ownership> {
      if (!isUuidV4(id)) return "missing";
      const row = withSqlite(() => byId.get(id));
      recordSqlite(context, "devices", 1, 0);
      if (!row) return "missing";
      return row.tenant_id === tenant ? "owned" : "other_tenant";
    },
  };
}
