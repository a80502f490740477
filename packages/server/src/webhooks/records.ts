import { randomUUID } from "node:crypto";
import { isStale } from "../alarms/judge.js";
import { encodeCursor } from "../stores/cursor.js";
import type { Page, TenantId } from "../stores/types.js";
import type {
  AttemptOutcome,
  Delivery,
  DeliveryAttempt,
  NewWebhook,
  RecordResult,
  StoredWebhook,
  Webhook,
} from "./types.js";

/** The dispatcher's fence: a row (SQLite) or document (Firestore) of the alarm fences, by this scope. */
export const DISPATCHER_FENCE_SCOPE = "webhook-dispatcher";

/** The stored webhook a `create` writes, the same on both backends. */
export function newWebhookRecord(
  tenant: TenantId,
  webhook: NewWebhook,
  secret: string,
  by: string | null,
  now: number,
): StoredWebhook {
  return {
    ...webhook,
    id: randomUUID(),
    tenant_id: tenant,
    created_at: now,
    created_by: by,
    secret_rotated_at: null,
    secret,
  };
}

/** The public shape of a webhook: never its secret. */
export function publicWebhook(webhook: Webhook | StoredWebhook): Webhook {
  const { secret: _secret, ...shown } = webhook as StoredWebhook;
  return shown;
}

/**
 * What recording attempt `outcome.attempt` does, judged on what the transaction read (the delivery, the
 * newest recorded fence): refused, or the delivery's next state and the attempt for the log. The same
 * rules on both backends (`WebhooksStore.recordAttempt`).
 */
export function recordedAttempt(
  tenant: TenantId,
  deliveryId: string,
  delivery: Delivery | null,
  outcome: AttemptOutcome,
  fence: string | null,
  recordedFence: string | undefined,
): Exclude<RecordResult, "recorded"> | { next: Delivery; attempt: DeliveryAttempt } {
  if (fence !== null && isStale(fence, recordedFence)) return "fenced";
  if (!delivery || delivery.tenant_id !== tenant) return "stale";
  if (fence !== null && isStale(fence, delivery.fence)) return "fenced";
  if (delivery.state !== "pending" || delivery.attempts !== outcome.attempt - 1) return "stale";
  return {
    next: {
      ...delivery,
      state: outcome.state,
      attempts: outcome.attempt,
      next_attempt_ms: outcome.next_attempt_ms,
      fence: fence ?? delivery.fence,
    },
    attempt: {
      ...outcome,
      delivery_id: deliveryId,
      webhook_id: delivery.webhook_id,
      tenant_id: tenant,
      event: delivery.event,
    },
  };
}

/** An attempt's id: its delivery's and its number. */
export function attemptId(attempt: Pick<DeliveryAttempt, "delivery_id" | "attempt">): string {
  return `${attempt.delivery_id}.${attempt.attempt}`;
}

/** A page of attempts from `limit + 1` read, newest first: the extra one says whether there is a next page. */
export function attemptsPage(read: DeliveryAttempt[], limit: number): Page<DeliveryAttempt> {
  const items = read.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items,
    next_cursor:
      read.length > limit && last
        ? encodeCursor({ k: "webhook_attempts", t: last.at_ms, id: attemptId(last) })
        : null,
  };
}
