import { randomUUID } from "node:crypto";
import type { TenantId } from "../stores/types.js";
import type { Alarm, AlarmRule, NewAlarmRule } from "./types.js";

/** The stored rule a `createRule` writes, the same on both backends. */
export function newRuleRecord(
  tenant: TenantId,
  rule: NewAlarmRule,
  by: string | null,
  now: number,
): AlarmRule {
  return { ...rule, id: randomUUID(), tenant_id: tenant, created_at: now, created_by: by };
}

/** An alarm as the API and webhook payloads show it: without its tenant and fencing token. */
export function publicAlarm(alarm: Alarm) {
  const { tenant_id: _tenant, fence: _fence, ...shown } = alarm;
  return shown;
}
