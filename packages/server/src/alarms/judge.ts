/**
 * What a rule's condition makes of new evidence (docs/design/alarms.md): pure functions, the same for
 * both stores, run inside the store's transaction on the state it just read.
 */
import {
  type Alarm,
  type AlarmEvent,
  type AlarmRule,
  CLEARED_ALARM_RETENTION_MS,
  type Judgement,
  type RuleState,
} from "./types.js";

/** Whether a reading crosses a threshold rule's condition. */
export function crosses(rule: AlarmRule, value: number): boolean {
  if (rule.kind !== "threshold") return false;
  if (rule.op === "outside") return value < rule.min || value > rule.max;
  return rule.op === ">" ? value > rule.threshold : value < rule.threshold;
}

/**
 * How far the newest judged reading may run ahead of the stored one before the rule's state is written
 * although nothing else in it moved. A quiet rule (no crossing begins, none ends, no alarm raised or
 * cleared) then costs its device's writes one read each and one state write a minute, instead of a write
 * per request. The price: a reading less than this much older than the newest one judged, arriving late,
 * is still judged, so a crossing can be taken to start up to this much early; never a second alarm (one
 * open alarm per rule is the store's rule) and never a lost clear (a clear is an event, always written).
 */
export const QUIET_STATE_WRITE_MS = 60_000;

/**
 * A threshold rule, given readings of its metric: a crossing that has held for `for_ms` (measured in the
 * readings' own time) raises; a reading back within the threshold ends the crossing and clears. Readings
 * no newer than the newest judged are late and change nothing (another instance judged past them). Null:
 * nothing to write (no fresh reading, or only the newest judged time moved, by less than
 * `QUIET_STATE_WRITE_MS`).
 */
export function judgeReadings(
  rule: AlarmRule,
  state: RuleState,
  readings: readonly { timestamp_ms: number; value: number }[],
): Judgement | null {
  const fresh = readings
    .filter((reading) => state.last_point_ms === null || reading.timestamp_ms > state.last_point_ms)
    .sort((a, b) => a.timestamp_ms - b.timestamp_ms);
  if (fresh.length === 0) return null;
  let since = state.since;
  let open = state.open_alarm_id !== null;
  const events: AlarmEvent[] = [];
  for (const { timestamp_ms: at, value } of fresh) {
    if (crosses(rule, value)) {
      since ??= at;
      if (!open && at - since >= rule.for_ms) {
        events.push({ type: "raise", at, value });
        open = true;
      }
    } else {
      since = null;
      if (open) {
        events.push({ type: "clear", at });
        open = false;
      }
    }
  }
  const last = fresh[fresh.length - 1]!.timestamp_ms;
  const unmoved =
    events.length === 0 &&
    since === state.since &&
    state.last_point_ms !== null &&
    last - state.last_point_ms < QUIET_STATE_WRITE_MS;
  if (unmoved) return null;
  return { state: { ...state, since, last_point_ms: last }, events };
}

/**
 * An offline rule, given when the device was last heard from (null: never; its quiet time then counts
 * from the rule's creation): quiet for `for_ms` raises, heard from again clears.
 */
export function judgeQuiet(
  rule: AlarmRule,
  state: RuleState,
  lastSeenMs: number | null,
  now: number,
): Judgement | null {
  const quietSince = Math.max(lastSeenMs ?? rule.created_at, rule.created_at);
  const quiet = now - quietSince >= rule.for_ms;
  const open = state.open_alarm_id !== null;
  if (quiet && !open) {
    return { state: { ...state, since: quietSince }, events: [{ type: "raise", at: now, value: null }] };
  }
  if (!quiet && open) return { state: { ...state, since: null }, events: [{ type: "clear", at: now }] };
  return null;
}

/** The id of a rule's n-th alarm: deterministic, so that two instances raising it name the same document. */
export function alarmId(ruleId: string, n: number): string {
  return `${ruleId}.${n}`;
}

export const ALARM_ID_PATTERN =
  "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\\.[1-9][0-9]{0,8}$";
const ALARM_ID = new RegExp(ALARM_ID_PATTERN);

export function isAlarmId(id: string): boolean {
  return ALARM_ID.test(id);
}

/** Whether `fence` is older than one already recorded (fences are 15-digit strings: they order as text). */
export function isStale(fence: string, recorded: string | null | undefined): boolean {
  return recorded != null && fence < recorded;
}

/** The alarms a judgement writes: those it opens (created, possibly cleared again) and the one it closes. */
export interface Transition {
  state: RuleState;
  created: Alarm[];
  /** The alarm that was open before and is cleared now, if any. */
  closed: Alarm | null;
}

/**
 * Applies a judgement's events to the rule's open alarm (`open`, as read in the same transaction): a
 * raise while an alarm is open does nothing (one open alarm per rule), a clear with none open does nothing.
 */
export function applyJudgement(
  rule: AlarmRule,
  state: RuleState,
  open: Alarm | null,
  judgement: Judgement,
  fence: string | null,
): Transition {
  let raised = state.raised;
  let current = open;
  let closed: Alarm | null = null;
  const created: Alarm[] = [];
  for (const event of judgement.events) {
    if (event.type === "raise") {
      if (current && current.state !== "cleared") continue;
      raised += 1;
      current = {
        id: alarmId(rule.id, raised),
        tenant_id: rule.tenant_id,
        rule_id: rule.id,
        device_id: rule.device_id,
        kind: rule.kind,
        metric: rule.kind === "threshold" ? rule.metric : null,
        severity: rule.severity,
        state: "active",
        value: event.value,
        raised_ms: event.at,
        acknowledged_by: null,
        acknowledged_ms: null,
        cleared_ms: null,
        fence,
      };
      created.push(current);
    } else if (current && current.state !== "cleared") {
      const cleared: Alarm = {
        ...current,
        state: "cleared",
        cleared_ms: event.at,
        fence: fence ?? current.fence,
      };
      const index = created.findIndex((alarm) => alarm.id === cleared.id);
      if (index >= 0) created[index] = cleared;
      else closed = cleared;
      current = cleared;
    }
  }
  return {
    state: {
      ...judgement.state,
      open_alarm_id: current && current.state !== "cleared" ? current.id : null,
      raised,
      fence: fence ?? state.fence,
    },
    created,
    closed,
  };
}

/** The alarm acknowledged by `by` at `at` (see `AlarmsStore.acknowledge`); null when nothing changes. */
export function acknowledged(alarm: Alarm, by: string, at: number): Alarm | null {
  if (alarm.acknowledged_ms !== null) return null;
  return {
    ...alarm,
    state: alarm.state === "active" ? "acknowledged" : alarm.state,
    acknowledged_by: by,
    acknowledged_ms: at,
  };
}

/** When a cleared alarm may be deleted (epoch ms); null while it is open. */
export function alarmExpiry(alarm: Alarm): number | null {
  return alarm.cleared_ms === null ? null : alarm.cleared_ms + CLEARED_ALARM_RETENTION_MS;
}
