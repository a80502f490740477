import { createHash } from "node:crypto";
import { publicAlarm } from "../alarms/records.js";
import type { Alarm } from "../alarms/types.js";
import type { TenantId } from "../stores/types.js";
import type { Delivery, StoredWebhook, Webhook, WebhookEvent } from "./types.js";

/** One alarm transition, as a webhook hears of it. */
export interface AlarmTransition {
  event: WebhookEvent;
  occurred_ms: number;
  /** The alarm as the transition left it. */
  alarm: Alarm;
}

/**
 * The transitions of one evaluation (alarms/judge.ts `applyJudgement`): each alarm created was raised
 * (and, when the same batch of points brought the reading back, cleared too); the one closed was cleared.
 */
export function evaluationTransitions(created: readonly Alarm[], closed: Alarm | null): AlarmTransition[] {
  const transitions: AlarmTransition[] = [];
  for (const alarm of created) {
    const raised: Alarm = { ...alarm, state: "active", cleared_ms: null };
    transitions.push({ event: "alarm.raised", occurred_ms: alarm.raised_ms, alarm: raised });
    if (alarm.state === "cleared") transitions.push(clearedTransition(alarm));
  }
  if (closed) transitions.push(clearedTransition(closed));
  return transitions;
}

export function clearedTransition(alarm: Alarm): AlarmTransition {
  return { event: "alarm.cleared", occurred_ms: alarm.cleared_ms ?? alarm.raised_ms, alarm };
}

export function acknowledgedTransition(alarm: Alarm): AlarmTransition {
  return { event: "alarm.acknowledged", occurred_ms: alarm.acknowledged_ms ?? alarm.raised_ms, alarm };
}

/**
 * A delivery's id: derived from the webhook, the alarm and the event, so that it names one transition
 * for one receiver whoever enqueues it, and an enqueue repeated (a retried transaction) writes nothing new.
 */
export function deliveryId(webhookId: string, alarmId: string, event: WebhookEvent): string {
  return createHash("sha256").update(`${webhookId}\n${alarmId}\n${event}`).digest("hex").slice(0, 32);
}

export const DELIVERY_ID_PATTERN = "^[0-9a-f]{32}$";

/** Whether a webhook wants to hear of an alarm (its severities; null: all). */
export function matches(webhook: Webhook, alarm: Alarm): boolean {
  return webhook.severities === null || webhook.severities.includes(alarm.severity);
}

/**
 * The deliveries to enqueue for transitions, one per matching webhook and transition, due at once. The
 * body is fixed here, so every attempt sends the same bytes.
 */
export function deliveriesFor(
  tenant: TenantId,
  webhooks: readonly (Webhook | StoredWebhook)[],
  transitions: readonly AlarmTransition[],
  now: number,
): Delivery[] {
  const deliveries: Delivery[] = [];
  for (const transition of transitions) {
    for (const webhook of webhooks) {
      if (!matches(webhook, transition.alarm)) continue;
      const id = deliveryId(webhook.id, transition.alarm.id, transition.event);
      const body = JSON.stringify({
        id,
        event: transition.event,
        occurred_ms: transition.occurred_ms,
        tenant: tenant,
        alarm: publicAlarm(transition.alarm),
      });
      deliveries.push({
        id,
        tenant_id: tenant,
        webhook_id: webhook.id,
        event: transition.event,
        alarm_id: transition.alarm.id,
        created_ms: now,
        body,
        state: "pending",
        attempts: 0,
        next_attempt_ms: now,
        fence: null,
      });
    }
  }
  return deliveries;
}
