/**
 * Webhooks (docs/design/webhooks.md): a tenant's registrations, and the deliveries of its alarm
 * transitions to them. Like alarm state, they must agree between instances, so they live beside it: in
 * Firestore when one is configured, else in the SQLite file the processes of one host share. One
 * interface, two implementations (`sqlite.ts`, `firestore.ts`), one contract suite (`testing/contract.ts`).
 */

import type { Severity } from "../alarms/types.js";
import type { Ownership, Page, TenantId } from "../stores/types.js";

/** A tenant has at most this many webhooks: every alarm transition reads them all, in its transaction. */
export const MAX_WEBHOOKS_PER_TENANT = 10;

/** Deliveries and their attempts are kept this long (Firestore TTL on `expire_at`, the SQLite retention job). */
export const DELIVERY_RETENTION_MS = 30 * 24 * 3600 * 1000;

export type WebhookEvent = "alarm.raised" | "alarm.acknowledged" | "alarm.cleared";

export interface NewWebhook {
  url: string;
  description: string | null;
  /** Only alarms of these severities are sent; null: every severity. */
  severities: Severity[] | null;
}

/** A webhook as the API shows it: never its secret. */
export interface Webhook extends NewWebhook {
  id: string; // UUIDv4
  tenant_id: TenantId;
  created_at: number;
  created_by: string | null;
  secret_rotated_at: number | null;
}

/**
 * A webhook as stored: with the signing secret itself. An HMAC can only be computed with the key, so a
 * hash of it would not do; it is returned by the API once (at creation and at rotation) and never logged.
 */
export interface StoredWebhook extends Webhook {
  secret: string;
}

export type DeliveryState = "pending" | "delivered" | "failed";

/**
 * One alarm transition to be sent to one webhook. Its id is the receiver's deduplication key, the same on
 * every attempt, and `body` the exact bytes POSTed every time (signed at each attempt with the webhook's
 * secret of the moment).
 */
export interface Delivery {
  id: string;
  tenant_id: TenantId;
  webhook_id: string;
  event: WebhookEvent;
  alarm_id: string;
  created_ms: number;
  body: string;
  state: DeliveryState;
  /** Attempts made so far. */
  attempts: number;
  /** When the next attempt is due; null once delivered or failed. */
  next_attempt_ms: number | null;
  /** The fencing token of the dispatcher that last wrote it. */
  fence: string | null;
}

/** What one attempt gave, as the delivery log shows it. */
export interface DeliveryAttempt {
  delivery_id: string;
  webhook_id: string;
  tenant_id: TenantId;
  event: WebhookEvent;
  /** 1 for the first attempt. */
  attempt: number;
  at_ms: number;
  /** The receiver's HTTP status; null when none came (`error` says why). */
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  /** The delivery's state after this attempt. */
  state: DeliveryState;
  next_attempt_ms: number | null;
}

/** An attempt's outcome for `recordAttempt`: the delivery moves to `state`, due again at `next_attempt_ms`. */
export type AttemptOutcome = Omit<DeliveryAttempt, "webhook_id" | "tenant_id" | "event" | "delivery_id">;

export type RecordResult =
  | "recorded"
  /** A newer dispatcher's fence is recorded: nothing was written. */
  | "fenced"
  /** The delivery moved on (another attempt was recorded, or it is gone): nothing was written. */
  | "stale";

export interface WebhooksStore {
  /** Creates a webhook unless the tenant has `MAX_WEBHOOKS_PER_TENANT` already (null then). */
  create(tenant: TenantId, webhook: NewWebhook, secret: string, by: string | null): Promise<Webhook | null>;
  /** The tenant's webhooks, oldest first (at most `MAX_WEBHOOKS_PER_TENANT`). One query. */
  list(tenant: TenantId): Promise<Webhook[]>;
  /** With its secret, for the dispatcher. */
  get(tenant: TenantId, id: string): Promise<StoredWebhook | null>;
  delete(tenant: TenantId, id: string): Promise<boolean>;
  /** Replaces the secret; null if there is no such webhook in the tenant. */
  rotateSecret(tenant: TenantId, id: string, secret: string, at: number): Promise<Webhook | null>;
  /** Whose the webhook is, so that another tenant's gets 403, not 404. One read. */
  ownership(tenant: TenantId, id: string): Promise<Ownership>;
  /** Pending deliveries of every tenant, the soonest due first. One query (one billed read when none). */
  pending(limit: number): Promise<Delivery[]>;
  getDelivery(tenant: TenantId, id: string): Promise<Delivery | null>;
  /**
   * Records that the dispatcher holding `fence` runs now. False (nothing written) if a newer fence was
   * recorded: the caller's lease is over.
   */
  recordFence(fence: string): Promise<boolean>;
  /**
   * Records attempt `outcome.attempt` of a delivery and moves the delivery on, in one transaction,
   * refused when a newer dispatcher's fence is recorded (`recordFence`) or written on the delivery, or
   * when the delivery is no longer at attempt `outcome.attempt - 1`.
   */
  recordAttempt(
    tenant: TenantId,
    deliveryId: string,
    outcome: AttemptOutcome,
    fence: string | null,
  ): Promise<RecordResult>;
  /** A webhook's delivery attempts, newest first. */
  attempts(
    tenant: TenantId,
    webhookId: string,
    options: { limit: number; cursor?: string | null },
  ): Promise<Page<DeliveryAttempt>>;
}
