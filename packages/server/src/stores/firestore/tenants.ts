import type { DocumentData } from "@google-cloud/firestore";
import { queryReads } from "../billing.js";
import { isTenantId } from "../keys.js";
import { DEFAULT_TIME_ZONE, type Tenant, type TenantId, type TenantsStore } from "../types.js";
import { type FirestoreContext, recordFirestore, runBilledTransaction, withFirestore } from "./context.js";

function toTenant(id: string, data: DocumentData): Tenant {
  return {
    id,
    name: data.name as string,
    created_at: data.created_at as number,
    // Tenants created before trends have no zone: the default applies.
    time_zone: (data.time_zone as string | undefined) ?? DEFAULT_TIME_ZONE,
    time_zone_since: (data.time_zone_since as number | undefined) ?? 0,
  };
}

export function createFirestoreTenantsStore(context: FirestoreContext): TenantsStore {
  const collection = context.db.collection(context.collections.tenants);

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
      await withFirestore(
        () =>
          collection.doc(tenant.id).create({
            name: created.name,
            created_at: created.created_at,
            time_zone: created.time_zone,
            time_zone_since: created.time_zone_since,
          }),
        `tenant ${tenant.id} exists`,
      );
      recordFirestore(context, "tenants", 0, 1);
      return created;
    },

    async get(id: TenantId): Promise<Tenant | null> {
      if (!isTenantId(id)) return null;
      const snapshot = await withFirestore(() => collection.doc(id).get());
      recordFirestore(context, "tenants", 1, 0);
      const data = snapshot.data();
      return data ? toTenant(id, data) : null;
    },

    async list(): Promise<Tenant[]> {
      const snapshot = await withFirestore(() => collection.orderBy("__name__").get());
      recordFirestore(context, "tenants", queryReads(snapshot.size), 0);
      return snapshot.docs.map((doc) => toTenant(doc.id, doc.data()));
    },

    async setTimeZone(id: TenantId, timeZone: string): Promise<Tenant | null> {
      if (!isTenantId(id)) return null;
      return runBilledTransaction(context, "tenants", async (transaction, bill) => {
        const ref = collection.doc(id);
        const snapshot = await transaction.get(ref);
        bill.read();
        if (!snapshot.exists) return null;
        const since = context.clock();
        transaction.update(ref, { time_zone: timeZone, time_zone_since: since });
        bill.write();
        return toTenant(id, { ...snapshot.data(), time_zone: timeZone, time_zone_since: since });
      });
    },
  };
}
