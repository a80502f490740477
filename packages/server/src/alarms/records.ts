import { randomUUID } from "node:crypto";
import type { TenantId } from "../stores/types.js";
import type { AlarmRule, NewAlarmRule } from "./types.js";

/** The stored rule a `createRule` writes, the same on both backends. */
export function newRuleRecord(
  tenant: TenantId,
  rule: NewAlarmRule,
  by: string | null,
  now: number,
): AlarmRule {
  return { ...rule, id: randomUUID(), tenant_id: tenant, created_at: now, created_by: by };
}
