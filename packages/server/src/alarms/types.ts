/**
 * Alarm rules and alarms (docs/design/alarms.md). Alarm state must agree between instances, so it lives
 * with the service-wide state: in Firestore when one is configured, else in the SQLite file the processes
 * of one host share (`runtime/open-stores.ts`). One interface, two implementations (`sqlite.ts`,
 * `firestore.ts`), one contract suite (`testing/contract.ts`).
 */

import type { Ownership, Page, TenantId } from "../stores/types.js";

export type Severity = "critical" | "major" | "minor" | "warning";
export const SEVERITIES: readonly Severity[] = ["critical", "major", "minor", "warning"];

export type ThresholdOp = ">" | "<" | "outside";

/** What a rule watches: a metric against a threshold (or a range), or the device going quiet. */
export type RuleCondition =
  | { kind: "threshold"; metric: string; op: ">" | "<"; threshold: number }
  | { kind: "threshold"; metric: string; op: "outside"; min: number; max: number }
  | { kind: "offline" };

export type NewAlarmRule = RuleCondition & {
  device_id: string;
  /** How long the condition must hold before the alarm is raised (0: at once). */
  for_ms: number;
  severity: Severity;
};

export type AlarmRule = NewAlarmRule & {
  id: string; // UUIDv4
  tenant_id: TenantId;
  created_at: number;
  created_by: string | null;
};

/**
 * Where a rule stands, kept with the rule and changed only in the transaction that reads it: since when
 * its condition holds (null: it does not), the newest point it has judged (older ones arrive late and are
 * ignored), the alarm it holds open, how many alarms it has raised (the next alarm's id derives from it),
 * and the highest fencing token of an offline sweep that wrote it.
 */
export interface RuleState {
  since: number | null;
  last_point_ms: number | null;
  open_alarm_id: string | null;
  raised: number;
  fence: string | null;
}

export const INITIAL_RULE_STATE: RuleState = {
  since: null,
  last_point_ms: null,
  open_alarm_id: null,
  raised: 0,
  fence: null,
};

export type AlarmState = "active" | "acknowledged" | "cleared";
export const ALARM_STATES: readonly AlarmState[] = ["active", "acknowledged", "cleared"];

export interface Alarm {
  /** `<rule id>.<n>`: the rule's n-th alarm, so two instances raising it at once name the same one. */
  id: string;
  tenant_id: TenantId;
  rule_id: string;
  device_id: string;
  kind: "threshold" | "offline";
  metric: string | null;
  severity: Severity;
  state: AlarmState;
  /** The reading that raised it (null for an offline alarm). */
  value: number | null;
  raised_ms: number;
  acknowledged_by: string | null;
  acknowledged_ms: number | null;
  cleared_ms: number | null;
  /** The fencing token of the offline sweep that last changed it; null for changes made by writes. */
  fence: string | null;
}

/** Cleared alarms are kept a year (Firestore TTL on `expire_at`, the SQLite retention job). */
export const CLEARED_ALARM_RETENTION_MS = 365 * 24 * 3600 * 1000;

/** What one evaluation does to a rule's alarms, in order (a batch of points may raise and clear). */
export type AlarmEvent = { type: "raise"; at: number; value: number | null } | { type: "clear"; at: number };

/** The outcome of judging a rule: its next state and the alarm events that follow; null: nothing changes. */
export interface Judgement {
  state: RuleState;
  events: AlarmEvent[];
}

export type EvaluationResult =
  | { status: "done"; raised: Alarm[]; cleared: Alarm[] }
  | { status: "missing" }
  /** A sweep with an older fencing token than one already written: nothing was written. */
  | { status: "fenced" };

export interface AlarmsStore {
  createRule(tenant: TenantId, rule: NewAlarmRule, by: string | null): Promise<AlarmRule>;
  getRule(tenant: TenantId, id: string): Promise<AlarmRule | null>;
  /** The tenant's rules, oldest first. */
  listRules(tenant: TenantId, options: { limit: number; cursor?: string | null }): Promise<Page<AlarmRule>>;
  /** The rules of one device (bounded by `MAX_RULES_PER_DEVICE` at creation). One query. */
  rulesForDevice(tenant: TenantId, deviceId: string): Promise<AlarmRule[]>;
  /** Offline rules of every tenant, for the sweep, paged. */
  offlineRules(options: { limit: number; cursor?: string | null }): Promise<Page<AlarmRule>>;
  /** Deletes the rule and clears its open alarm (at `at`). Returns false if there was none in this tenant. */
  deleteRule(tenant: TenantId, id: string, at: number): Promise<boolean>;
  /**
   * Judges a rule in one transaction: reads the rule and its state, calls `judge` (which may run more than
   * once: a Firestore transaction retries), writes the state and applies the events: a raise opens alarm
   * `<rule>.<raised + 1>` unless one is open, a clear closes the open one. With `fence`, the transition is
   * refused when a newer sweep's fence was recorded (`recordFence`) or written on the rule. Without a
   * fence, a store may first judge on a plain read and skip the transaction when `judge` returns null.
   */
  evaluate(
    tenant: TenantId,
    ruleId: string,
    judge: (rule: AlarmRule, state: RuleState) => Judgement | null,
    options?: { fence?: string },
  ): Promise<EvaluationResult>;
  /**
   * Records that the offline sweep holding `fence` runs now. False (nothing written) if a newer fence
   * was recorded: the caller's lease is over.
   */
  recordFence(fence: string): Promise<boolean>;
  getAlarm(tenant: TenantId, id: string): Promise<Alarm | null>;
  /** Whose a rule (UUIDv4) or an alarm (`<rule>.<n>`) is, so that another tenant's gets 403, not 404. One read. */
  ownership(tenant: TenantId, id: string): Promise<Ownership>;
  /** Newest raised first, optionally one state only. */
  listAlarms(
    tenant: TenantId,
    options: { state?: AlarmState; limit: number; cursor?: string | null },
  ): Promise<Page<Alarm>>;
  /**
   * How many of the tenant's alarms are in `state`, without reading them: one aggregation
   * (`aggregationReads`: Firestore bills a read per 1,000 index entries counted, at least one), so that a
   * badge costs the same for 3 active alarms as for 300.
   */
  countAlarms(tenant: TenantId, state: AlarmState): Promise<number>;
  /**
   * Acknowledges the alarm: an active one becomes acknowledged; a cleared one not yet acknowledged keeps
   * its state and records who acknowledged it; an acknowledged one is returned unchanged. Null if none.
   */
  acknowledge(tenant: TenantId, id: string, by: string, at: number): Promise<Alarm | null>;
}

/** A device has at most this many rules: its rules are read whole on every evaluation's cache miss. */
export const MAX_RULES_PER_DEVICE = 20;
