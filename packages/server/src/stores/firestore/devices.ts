import { classifyFirestoreFailure } from "@firebrick/lock/firestore";
import { type DocumentData, FieldPath } from "@google-cloud/firestore";
import { queryReads } from "../billing.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import { assertEpochMs, assertLimit, isUuidV4 } from "../keys.js";
import { newDeviceRecord } from "../records.js";
import {
  type Device,
  type DeviceChange,
  type DevicesStore,
  NO_LOCATION,
  type Ownership,
  type Page,
  type PointDefinition,
  type TenantId,
} from "../types.js";
import {
  deleteOwnedDocument,
  type FirestoreContext,
  recordFirestore,
  runBilledTransaction,
  withFirestore,
} from "./context.js";

/**
 * `last_seen` is a map keyed by tenant id, read at the device's own tenant: `recordSeen` writes it blind
 * (no read: the cost rule of docs/design/devices.md), so it cannot check the document's tenant first, and
 * a write under the wrong tenant must not be able to change what the device's tenant sees.
 */
const LAST_SEEN = "last_seen";

function toDevice(id: string, data: DocumentData): Device {
  const tenant = data.tenant_id as string;
  const seen = (data[LAST_SEEN] as Record<string, number> | undefined)?.[tenant];
  return {
    id,
    tenant_id: tenant,
    name: data.name as string,
    token_hash: data.token_hash as string,
    created_at: data.created_at as number,
    token_rotated_at: data.token_rotated_at as number,
    location: { ...NO_LOCATION, ...(data.location as Device["location"] | undefined) },
    points: (data.points as Record<string, PointDefinition> | undefined) ?? {},
    last_seen_ms: seen ?? null,
  };
}

export function createFirestoreDevicesStore(context: FirestoreContext): DevicesStore {
  const devices = context.db.collection(context.collections.devices);

  /**
   * Reads the tenant's device in a transaction and writes the fields `change` makes of it (whole fields:
   * a `points` map replaces the stored one); null writes nothing. Null when there is no such device.
   */
  const changeOwned = (
    tenant: TenantId,
    id: string,
    change: (device: Device) => Partial<Omit<Device, "id" | "tenant_id" | "last_seen_ms">> | null,
  ): Promise<Device | null> => {
    if (!isUuidV4(id)) return Promise.resolve(null);
    return runBilledTransaction(context, "devices", async (transaction, bill) => {
      const reference = devices.doc(id);
      const snapshot = await transaction.get(reference);
      bill.read();
      const data = snapshot.data();
      if (!data || data.tenant_id !== tenant) return null;
      const current = toDevice(id, data);
      const fields = change(current);
      if (!fields) return current;
      transaction.update(reference, { ...fields });
      bill.write();
      return { ...current, ...fields };
    });
  };

  return {
    async create(
      tenant: TenantId,
      device: { id?: string; name: string; token_hash: string },
    ): Promise<Device> {
      const created = newDeviceRecord(tenant, device, context.clock());
      const { id, last_seen_ms: _never, ...fields } = created;
      await withFirestore(() => devices.doc(id).create(fields), "device id taken");
      recordFirestore(context, "devices", 0, 1);
      return created;
    },

    async get(tenant: TenantId, id: string): Promise<Device | null> {
      if (!isUuidV4(id)) return null;
      const snapshot = await withFirestore(() => devices.doc(id).get());
      recordFirestore(context, "devices", 1, 0);
      const data = snapshot.data();
      return data && data.tenant_id === tenant ? toDevice(id, data) : null;
    },

    async list(tenant: TenantId, options = {}): Promise<Page<Device>> {
      const limit = options.limit ?? 100;
      assertLimit(limit, 1000);
      // Composite index (tenant_id asc, name asc); the id breaks ties between equal names.
      let query = devices.where("tenant_id", "==", tenant).orderBy("name").orderBy(FieldPath.documentId());
      if (options.cursor) {
        const cursor = decodeCursor("devices", options.cursor);
        query = query.startAfter(cursor.name, cursor.id);
      }
      const snapshot = await withFirestore(() => query.limit(limit).get());
      recordFirestore(context, "devices", queryReads(snapshot.size), 0);
      const items = snapshot.docs.map((doc) => toDevice(doc.id, doc.data()));
      const last = items.at(-1);
      return {
        items,
        next_cursor:
          items.length === limit && last
            ? encodeCursor<"devices">({ k: "devices", name: last.name, id: last.id })
            : null,
      };
    },

    async delete(tenant: TenantId, id: string): Promise<boolean> {
      if (!isUuidV4(id)) return false;
      return deleteOwnedDocument(context, "devices", devices.doc(id), tenant);
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
      try {
        // `update` (not `set`): a deleted device is not brought back as a document with no tenant.
        await withFirestore(() => devices.doc(id).update(new FieldPath(LAST_SEEN, tenant), at));
        recordFirestore(context, "devices", 0, 1);
      } catch (error) {
        if (classifyFirestoreFailure(error).status !== "NOT_FOUND") throw error;
      }
    },

    async ownership(tenant: TenantId, id: string): Promise<Ownership> {
      if (!isUuidV4(id)) return "missing";
      const snapshot = await withFirestore(() => devices.doc(id).get());
      recordFirestore(context, "devices", 1, 0);
      const owner = snapshot.get("tenant_id") as string | undefined;
      if (owner === undefined) return "missing";
      return owner === tenant ? "owned" : "other_tenant";
    },
  };
}
