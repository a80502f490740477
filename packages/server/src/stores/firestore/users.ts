import type { DocumentData } from "@google-cloud/firestore";
import { queryReads } from "../billing.js";
import { decodeCursor, encodeCursor } from "../cursor.js";
import { assertLimit, isUuidV4, sha256, usernameKey } from "../keys.js";
import { newUserRecord } from "../records.js";
import type { NewUser, Ownership, Page, PasswordParams, Role, TenantId, User, UsersStore } from "../types.js";
import { type FirestoreContext, recordFirestore, runBilledTransaction, withFirestore } from "./context.js";

function toUser(id: string, data: DocumentData): User {
  return {
    id,
    tenant_id: data.tenant_id as string,
    username: data.username as string,
    role: data.role as Role,
    password_hash: data.password_hash as string,
    algo_params: data.algo_params as PasswordParams,
    needs_rehash: data.needs_rehash as boolean,
    created_at: data.created_at as number,
    updated_at: data.updated_at as number,
  };
}

/**
 * The guard document's id for a username in a tenant. Hashed: a username may contain "/" or be
 * "..", which a document id cannot.
 */
export function usernameGuardId(tenant: TenantId, key: string): string {
  return sha256(`username\u0000${tenant}\u0000${key}`);
}

export function createFirestoreUsersStore(context: FirestoreContext): UsersStore {
  const users = context.db.collection(context.collections.users);
  const usernames = context.db.collection(context.collections.usernames);

  /** Reads the user in this tenant and applies `change`, in one transaction (1 read, 1 write). */
  const updateOwned = (tenant: TenantId, id: string, change: (user: User, now: number) => Partial<User>) =>
    runBilledTransaction(context, "auth", async (transaction, bill) => {
      const reference = users.doc(id);
      const snapshot = await transaction.get(reference);
      bill.read();
      const data = snapshot.data();
      if (!data || data.tenant_id !== tenant) return null;
      const fields = change(toUser(id, data), context.clock());
      transaction.update(reference, fields);
      bill.write();
      return { ...toUser(id, data), ...fields };
    });

  return {
    async create(tenant: TenantId, user: NewUser): Promise<User> {
      const created = newUserRecord(tenant, user, context.clock());
      const key = usernameKey(user.username);
      // One atomic commit of two create()s: if either the username guard or the user id exists, the
      // commit fails with ALREADY_EXISTS and neither is written. No read is needed, so no transaction
      // retries under contention.
      const batch = context.db.batch();
      const { id, ...fields } = created;
      batch.create(users.doc(id), { ...fields, username_key: key });
      batch.create(usernames.doc(usernameGuardId(tenant, key)), {
        tenant_id: tenant,
        username_key: key,
        user_id: id,
      });
      await withFirestore(() => batch.commit(), "username or user id taken");
      recordFirestore(context, "auth", 0, 2);
      return created;
    },

    async get(tenant: TenantId, id: string): Promise<User | null> {
      if (!isUuidV4(id)) return null;
      const snapshot = await withFirestore(() => users.doc(id).get());
      recordFirestore(context, "auth", 1, 0);
      const data = snapshot.data();
      return data && data.tenant_id === tenant ? toUser(id, data) : null;
    },

    async getByUsername(tenant: TenantId, username: string): Promise<User | null> {
      // A query costs one read where guard-then-user would cost two.
      const snapshot = await withFirestore(() =>
        users
          .where("tenant_id", "==", tenant)
          .where("username_key", "==", usernameKey(username))
          .limit(1)
          .get(),
      );
      recordFirestore(context, "auth", queryReads(snapshot.size), 0);
      const doc = snapshot.docs[0];
      return doc ? toUser(doc.id, doc.data()) : null;
    },

    async list(tenant: TenantId, options = {}): Promise<Page<User>> {
      const limit = options.limit ?? 100;
      assertLimit(limit, 1000);
      let query = users.where("tenant_id", "==", tenant).orderBy("username_key");
      if (options.cursor) query = query.startAfter(decodeCursor("users", options.cursor).key);
      const snapshot = await withFirestore(() => query.limit(limit).get());
      recordFirestore(context, "auth", queryReads(snapshot.size), 0);
      const last = snapshot.docs.at(-1);
      return {
        items: snapshot.docs.map((doc) => toUser(doc.id, doc.data())),
        next_cursor:
          snapshot.size === limit && last
            ? encodeCursor<"users">({ k: "users", key: last.get("username_key") as string })
            : null,
      };
    },

    async updateRole(tenant: TenantId, id: string, role: Role): Promise<User | null> {
      if (!isUuidV4(id)) return null;
      return updateOwned(tenant, id, (_user, now) => ({ role, updated_at: now }));
    },

    async updatePassword(tenant, id, password): Promise<User | null> {
      if (!isUuidV4(id)) return null;
      return updateOwned(tenant, id, (_user, now) => ({
        password_hash: password.password_hash,
        algo_params: password.algo_params,
        needs_rehash: password.needs_rehash,
        updated_at: now,
      }));
    },

    async delete(tenant: TenantId, id: string): Promise<boolean> {
      if (!isUuidV4(id)) return false;
      return runBilledTransaction(context, "auth", async (transaction, bill) => {
        const reference = users.doc(id);
        const snapshot = await transaction.get(reference);
        bill.read();
        const data = snapshot.data();
        if (!data || data.tenant_id !== tenant) return false;
        transaction.delete(reference);
        transaction.delete(usernames.doc(usernameGuardId(tenant, data.username_key as string)));
        bill.write(2);
        return true;
      });
    },

    async ownership(tenant: TenantId, id: string): Promise<Ownership> {
      if (!isUuidV4(id)) return "missing";
      const snapshot = await withFirestore(() => users.doc(id).get());
      recordFirestore(context, "auth", 1, 0);
      const owner = snapshot.get("tenant_id") as string | undefined;
      if (owner === undefined) return "missing";
      return owner === tenant ? "owned" : "other_tenant";
    },
  };
}
