import { FieldPath, type Firestore, type Query, Timestamp, type Transaction } from "@google-cloud/firestore";
import { recordFirestoreFence } from "../alarms/firestore-fences.js";
import { queryReads } from "../stores/billing.js";
import { decodeCursor } from "../stores/cursor.js";
import {
  firestoreContext,
  recordFirestore,
  runBilledTransaction,
  withFirestore,
} from "../stores/firestore/context.js";
import { assertLimit, isUuidV4 } from "../stores/keys.js";
import type { Clock, TenantId } from "../stores/types.js";
import type { UsageRecorder } from "../stores/usage.js";
import { type AlarmTransition, DELIVERY_ID_PATTERN, deliveriesFor } from "./deliveries.js";
import {
  attemptId,
  attemptsPage,
  DISPATCHER_FENCE_SCOPE,
  newWebhookRecord,
  publicWebhook,
  recordedAttempt,
} from "./records.js";
import {
  DELIVERY_RETENTION_MS,
  type Delivery,
  type DeliveryAttempt,
  MAX_WEBHOOKS_PER_TENANT,
  type StoredWebhook,
  type WebhooksStore,
} from "./types.js";

export const WEBHOOK_COLLECTIONS = {
  webhooks: "webhooks",
  deliveries: "webhook_deliveries",
  attempts: "webhook_attempts",
  // The dispatcher's fence sits beside the offline sweep's (alarms/firestore.ts).
  fences: "alarm_fences",
};

const DELIVERY_ID = new RegExp(DELIVERY_ID_PATTERN);

/**
 * A delivery as stored: `next_attempt_ms` only while it is pending, so that the dispatcher's query
 * (ordered by it, on its single-field index) sees pending deliveries and nothing else.
 */
function deliveryData(delivery: Delivery) {
  return {
    tenant_id: delivery.tenant_id,
    webhook_id: delivery.webhook_id,
    delivery,
    ...(delivery.next_attempt_ms !== null && { next_attempt_ms: delivery.next_attempt_ms }),
    expire_at: Timestamp.fromMillis(delivery.created_ms + DELIVERY_RETENTION_MS),
  };
}

/**
 * Enqueues the deliveries of alarm transitions inside the caller's Firestore transaction (the alarms
 * store's): `read` (before any write of the transaction: Firestore wants reads first) queries the
 * tenant's webhooks, `write` creates one delivery per matching webhook and transition.
 */
export function firestoreDeliveryOutbox(db: Firestore) {
  const webhooks = db.collection(WEBHOOK_COLLECTIONS.webhooks);
  const deliveries = db.collection(WEBHOOK_COLLECTIONS.deliveries);
  return {
    async read(
      transaction: Transaction,
      tenant: TenantId,
    ): Promise<{ hooks: StoredWebhook[]; reads: number }> {
      const snapshot = await transaction.get(webhooks.where("tenant_id", "==", tenant));
      return {
        hooks: snapshot.docs.map((doc) => doc.get("webhook") as StoredWebhook),
        reads: queryReads(snapshot.size),
      };
    },
    write(
      transaction: Transaction,
      tenant: TenantId,
      hooks: readonly StoredWebhook[],
      transitions: readonly AlarmTransition[],
      now: number,
    ): number {
      const enqueued = deliveriesFor(tenant, hooks, transitions, now);
      // `set`, not `create`: the id names the transition, so a second enqueue of it is the same delivery.
      for (const delivery of enqueued) transaction.set(deliveries.doc(delivery.id), deliveryData(delivery));
      return enqueued.length;
    },
  };
}

/**
 * Webhooks, deliveries and attempts in Firestore (docs/design/webhooks.md): `webhooks/<id>` (the tenant's
 * are found by an equality query on `tenant_id`), `webhook_deliveries/<delivery id>` and
 * `webhook_attempts/<delivery id>.<n>`, both with a TTL `expire_at` 30 days on. The dispatcher's fence is
 * `alarm_fences/webhook-dispatcher`.
 *
 * @example
 * const webhooks = createFirestoreWebhooksStore(db, { clock });
 */
export function createFirestoreWebhooksStore(
  db: Firestore,
  options: { clock?: Clock; usage?: UsageRecorder } = {},
): WebhooksStore {
  const clock = options.clock ?? Date.now;
  const context = firestoreContext(db, { clock, usage: options.usage });
  const record = (reads: number, writes: number) => recordFirestore(context, "webhooks", reads, writes);
  const webhooks = db.collection(WEBHOOK_COLLECTIONS.webhooks);
  const deliveries = db.collection(WEBHOOK_COLLECTIONS.deliveries);
  const attempts = db.collection(WEBHOOK_COLLECTIONS.attempts);
  const fenceDoc = db.collection(WEBHOOK_COLLECTIONS.fences).doc(DISPATCHER_FENCE_SCOPE);
  const sorted = (hooks: StoredWebhook[]) =>
    hooks.sort((a, b) => a.created_at - b.created_at || a.id.localeCompare(b.id));

  /** Reads the tenant's webhook `id` and, if there, writes `change` of it; null when there is none. */
  const changeOwned = (
    tenant: TenantId,
    id: string,
    change: (hook: StoredWebhook, transaction: Transaction) => void,
  ) =>
    runBilledTransaction(context, "webhooks", async (transaction, bill) => {
      const snapshot = await transaction.get(webhooks.doc(id));
      bill.read();
      if (!snapshot.exists || snapshot.get("tenant_id") !== tenant) return null;
      change(snapshot.get("webhook") as StoredWebhook, transaction);
      bill.write();
      return true;
    });

  return {
    async create(tenant, webhook, secret, by) {
      return runBilledTransaction(context, "webhooks", async (transaction, bill) => {
        const existing = await transaction.get(webhooks.where("tenant_id", "==", tenant));
        bill.read(queryReads(existing.size));
        if (existing.size >= MAX_WEBHOOKS_PER_TENANT) return null;
        const stored = newWebhookRecord(tenant, webhook, secret, by, clock());
        const reference = webhooks.doc(stored.id);
        transaction.create(reference, { tenant_id: tenant, webhook: stored });
        bill.write();
        return publicWebhook(stored);
      });
    },
    async list(tenant) {
      const snapshot = await withFirestore(() => webhooks.where("tenant_id", "==", tenant).get());
      record(queryReads(snapshot.size), 0);
      return sorted(snapshot.docs.map((doc) => doc.get("webhook") as StoredWebhook)).map(publicWebhook);
    },
    async get(tenant, id) {
      if (!isUuidV4(id)) return null;
      const snapshot = await withFirestore(() => webhooks.doc(id).get());
      record(1, 0);
      return snapshot.exists && snapshot.get("tenant_id") === tenant
        ? (snapshot.get("webhook") as StoredWebhook)
        : null;
    },
    async delete(tenant, id) {
      if (!isUuidV4(id)) return false;
      return (
        (await changeOwned(tenant, id, (_hook, transaction) => transaction.delete(webhooks.doc(id)))) === true
      );
    },
    async rotateSecret(tenant, id, secret, at) {
      if (!isUuidV4(id)) return null;
      let rotated: StoredWebhook | null = null;
      await changeOwned(tenant, id, (hook, transaction) => {
        rotated = { ...hook, secret, secret_rotated_at: at };
        transaction.update(webhooks.doc(id), { webhook: rotated });
      });
      return rotated ? publicWebhook(rotated) : null;
    },
    async ownership(tenant, id) {
      if (!isUuidV4(id)) return "missing";
      const snapshot = await withFirestore(() => webhooks.doc(id).get());
      record(1, 0);
      if (!snapshot.exists) return "missing";
      return snapshot.get("tenant_id") === tenant ? "owned" : "other_tenant";
    },
    async pending(limit) {
      assertLimit(limit);
      const snapshot = await withFirestore(() =>
        deliveries.orderBy("next_attempt_ms").orderBy(FieldPath.documentId()).limit(limit).get(),
      );
      record(queryReads(snapshot.size), 0);
      return snapshot.docs.map((doc) => doc.get("delivery") as Delivery);
    },
    async getDelivery(tenant, id) {
      if (!DELIVERY_ID.test(id)) return null;
      const snapshot = await withFirestore(() => deliveries.doc(id).get());
      record(1, 0);
      return snapshot.exists && snapshot.get("tenant_id") === tenant
        ? (snapshot.get("delivery") as Delivery)
        : null;
    },
    async recordFence(fence) {
      return recordFirestoreFence(context, "webhooks", fenceDoc, fence);
    },
    async recordAttempt(tenant, deliveryId, outcome, fence) {
      if (!DELIVERY_ID.test(deliveryId)) return "stale";
      return runBilledTransaction(context, "webhooks", async (transaction, bill) => {
        const [snapshot, recorded] = await transaction.getAll(
          deliveries.doc(deliveryId),
          ...(fence === null ? [] : [fenceDoc]),
        );
        bill.read(fence === null ? 1 : 2);
        const delivery = snapshot?.exists ? (snapshot.get("delivery") as Delivery) : null;
        const judged = recordedAttempt(tenant, deliveryId, delivery, outcome, fence, recorded?.get("fence"));
        if (typeof judged === "string") return judged;
        const { next, attempt } = judged;
        transaction.set(deliveries.doc(deliveryId), deliveryData(next));
        transaction.create(attempts.doc(attemptId(attempt)), {
          tenant_id: tenant,
          webhook_id: attempt.webhook_id,
          at_ms: attempt.at_ms,
          attempt,
          expire_at: Timestamp.fromMillis(attempt.at_ms + DELIVERY_RETENTION_MS),
        });
        bill.write(2);
        return "recorded";
      });
    },
    async attempts(tenant, webhookId, { limit, cursor }) {
      assertLimit(limit);
      let query: Query = attempts
        .where("tenant_id", "==", tenant)
        .where("webhook_id", "==", webhookId)
        .orderBy("at_ms", "desc")
        .orderBy(FieldPath.documentId(), "desc");
      if (cursor) {
        const after = decodeCursor("webhook_attempts", cursor);
        query = query.startAfter(after.t, after.id);
      }
      const snapshot = await withFirestore(() => query.limit(limit + 1).get());
      record(queryReads(Math.min(snapshot.size, limit)), 0);
      return attemptsPage(
        snapshot.docs.map((doc) => doc.get("attempt") as DeliveryAttempt),
        limit,
      );
    },
  };
}
