import { sqliteFence } from "../alarms/fences.js";
import type { SqliteDatabase } from "../storage/sqlite.js";
import { queryReads } from "../stores/billing.js";
import { decodeCursor } from "../stores/cursor.js";
import { assertLimit, isUuidV4 } from "../stores/keys.js";
import { withSqlite } from "../stores/sqlite/context.js";
import type { RetentionTarget } from "../stores/sqlite/retention.js";
import type { Clock, TenantId } from "../stores/types.js";
import { ignoreUsage, type UsageRecorder } from "../stores/usage.js";
import { type AlarmTransition, deliveriesFor } from "./deliveries.js";
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

/**
 * Enqueues the deliveries of alarm transitions, inside the caller's transaction on `db` (the alarms
 * store's): one per matching webhook of the tenant. Returns the rows it read and wrote, for the bill.
 */
export function sqliteDeliveryOutbox(db: SqliteDatabase) {
  const hooksOf = db.prepare<[string], { webhook: string }>(
    "SELECT webhook FROM webhooks WHERE tenant_id = ? ORDER BY created_at, id",
  );
  const insert = db.prepare(
    `INSERT OR IGNORE INTO webhook_deliveries (id, tenant_id, webhook_id, next_attempt_ms, delivery, expire_at)
     VALUES (?, ?, ?, ?, ?, ?)`,
  );
  return (tenant: TenantId, transitions: readonly AlarmTransition[], now: number) => {
    if (transitions.length === 0) return { reads: 0, writes: 0, enqueued: 0 };
    const hooks = hooksOf.all(tenant).map((row) => JSON.parse(row.webhook) as StoredWebhook);
    let writes = 0;
    for (const delivery of deliveriesFor(tenant, hooks, transitions, now)) {
      writes += insert.run(
        delivery.id,
        tenant,
        delivery.webhook_id,
        delivery.next_attempt_ms,
        JSON.stringify(delivery),
        delivery.created_ms + DELIVERY_RETENTION_MS,
      ).changes;
    }
    return { reads: queryReads(hooks.length), writes, enqueued: writes };
  };
}

/**
 * Webhooks, deliveries and attempts in the SQLite file (migration 56), for the processes of one host
 * sharing a data dir; changes that read before they write run in `BEGIN IMMEDIATE`.
 *
 * @example
 * const webhooks = createSqliteWebhooksStore(db, { clock });
 */
export function createSqliteWebhooksStore(
  db: SqliteDatabase,
  options: { clock?: Clock; usage?: UsageRecorder } = {},
): WebhooksStore {
  const clock = options.clock ?? Date.now;
  const usage = options.usage ?? ignoreUsage;
  const record = (reads: number, writes: number) => usage.record("sqlite", "webhooks", reads, writes);
  const byId = db.prepare<[string], { tenant_id: string; webhook: string }>(
    "SELECT tenant_id, webhook FROM webhooks WHERE id = ?",
  );
  const ofTenant = db.prepare<[string], { webhook: string }>(
    "SELECT webhook FROM webhooks WHERE tenant_id = ? ORDER BY created_at, id",
  );
  const insert = db.prepare("INSERT INTO webhooks (id, tenant_id, created_at, webhook) VALUES (?, ?, ?, ?)");
  const update = db.prepare("UPDATE webhooks SET webhook = ? WHERE id = ?");
  const remove = db.prepare("DELETE FROM webhooks WHERE id = ?");
  const due = db.prepare<[number], { delivery: string }>(
    `SELECT delivery FROM webhook_deliveries INDEXED BY webhook_deliveries_due
     WHERE next_attempt_ms IS NOT NULL ORDER BY next_attempt_ms, id LIMIT ?`,
  );
  const deliveryById = db.prepare<[string], { tenant_id: string; delivery: string }>(
    "SELECT tenant_id, delivery FROM webhook_deliveries WHERE id = ?",
  );
  const updateDelivery = db.prepare(
    "UPDATE webhook_deliveries SET next_attempt_ms = ?, delivery = ? WHERE id = ?",
  );
  const insertAttempt = db.prepare(
    "INSERT INTO webhook_attempts (id, tenant_id, webhook_id, at_ms, attempt, expire_at) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const dispatcherFence = sqliteFence(db, DISPATCHER_FENCE_SCOPE, record);
  const parse = (json: string) => JSON.parse(json) as StoredWebhook;

  const recordAttempt = db.transaction(
    (
      tenant: TenantId,
      deliveryId: string,
      outcome: Parameters<WebhooksStore["recordAttempt"]>[2],
      fence: string | null,
    ) => {
      const reads = fence === null ? 1 : 2;
      const row = deliveryById.get(deliveryId);
      const delivery = row ? (JSON.parse(row.delivery) as Delivery) : null;
      const judged = recordedAttempt(tenant, deliveryId, delivery, outcome, fence, dispatcherFence.current());
      if (typeof judged === "string") {
        record(reads, 0);
        return judged;
      }
      const { next, attempt } = judged;
      updateDelivery.run(next.next_attempt_ms, JSON.stringify(next), deliveryId);
      insertAttempt.run(
        attemptId(attempt),
        tenant,
        attempt.webhook_id,
        attempt.at_ms,
        JSON.stringify(attempt),
        attempt.at_ms + DELIVERY_RETENTION_MS,
      );
      record(reads, 2);
      return "recorded" as const;
    },
  );

  return {
    async create(tenant, webhook, secret, by) {
      return withSqlite(() =>
        db
          .transaction(() => {
            const count = ofTenant.all(tenant).length;
            if (count >= MAX_WEBHOOKS_PER_TENANT) {
              record(queryReads(count), 0);
              return null;
            }
            const stored = newWebhookRecord(tenant, webhook, secret, by, clock());
            insert.run(stored.id, tenant, stored.created_at, JSON.stringify(stored));
            record(queryReads(count), 1);
            return publicWebhook(stored);
          })
          .immediate(),
      );
    },
    async list(tenant) {
      const rows = withSqlite(() => ofTenant.all(tenant));
      record(queryReads(rows.length), 0);
      return rows.map((row) => publicWebhook(parse(row.webhook)));
    },
    async get(tenant, id) {
      if (!isUuidV4(id)) return null;
      const row = withSqlite(() => byId.get(id));
      record(1, 0);
      return row && row.tenant_id === tenant ? parse(row.webhook) : null;
    },
    async delete(tenant, id) {
      if (!isUuidV4(id)) return false;
      return withSqlite(() =>
        db
          .transaction(() => {
            const row = byId.get(id);
            if (!row || row.tenant_id !== tenant) {
              record(1, 0);
              return false;
            }
            remove.run(id);
            record(1, 1);
            return true;
          })
          .immediate(),
      );
    },
    async rotateSecret(tenant, id, secret, at) {
      if (!isUuidV4(id)) return null;
      return withSqlite(() =>
        db
          .transaction(() => {
            const row = byId.get(id);
            if (!row || row.tenant_id !== tenant) {
              record(1, 0);
              return null;
            }
            const next: StoredWebhook = { ...parse(row.webhook), secret, secret_rotated_at: at };
            update.run(JSON.stringify(next), id);
            record(1, 1);
            return publicWebhook(next);
          })
          .immediate(),
      );
    },
    async ownership(tenant, id) {
      if (!isUuidV4(id)) return "missing";
      const row = withSqlite(() => byId.get(id));
      record(1, 0);
      return !row ? "missing" : row.tenant_id === tenant ? "owned" : "other_tenant";
    },
    async pending(limit) {
      assertLimit(limit);
      const rows = withSqlite(() => due.all(limit));
      record(queryReads(rows.length), 0);
      return rows.map((row) => JSON.parse(row.delivery) as Delivery);
    },
    async getDelivery(tenant, id) {
      const row = withSqlite(() => deliveryById.get(id));
      record(1, 0);
      return row && row.tenant_id === tenant ? (JSON.parse(row.delivery) as Delivery) : null;
    },
    async recordFence(fence) {
      return withSqlite(() => dispatcherFence.record(fence));
    },
    async recordAttempt(tenant, deliveryId, outcome, fence) {
      return withSqlite(() => recordAttempt.immediate(tenant, deliveryId, outcome, fence));
    },
    async attempts(tenant, webhookId, { limit, cursor }) {
      assertLimit(limit);
      const after = cursor ? decodeCursor("webhook_attempts", cursor) : null;
      const rows = withSqlite(() =>
        db
          .prepare<(string | number)[], { attempt: string }>(
            `SELECT attempt FROM webhook_attempts WHERE tenant_id = ? AND webhook_id = ?
             ${after ? "AND (at_ms, id) < (?, ?)" : ""} ORDER BY at_ms DESC, id DESC LIMIT ?`,
          )
          .all(tenant, webhookId, ...(after ? [after.t, after.id] : []), limit + 1),
      );
      record(queryReads(Math.min(rows.length, limit)), 0);
      return attemptsPage(
        rows.map((row) => JSON.parse(row.attempt) as DeliveryAttempt),
        limit,
      );
    },
  };
}

/** Deliveries and attempts past their 30 days, for the SQLite retention job (`stores/sqlite/retention.ts`). */
export function webhookRetentionTargets(db: SqliteDatabase): RetentionTarget[] {
  return (["webhook_deliveries", "webhook_attempts"] as const).map((table) => {
    const expired = db.prepare<[number, number]>(
      `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE expire_at <= ? LIMIT ?)`,
    );
    return {
      table,
      deleteExpired(now: number, limit: number) {
        const deleted = expired.run(now, limit).changes;
        return { deleted, done: deleted < limit };
      },
    };
  });
}
