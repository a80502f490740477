import { judgeReadings } from "../judge.js";
import type { Alarm, AlarmRule, AlarmsStore, NewAlarmRule } from "../types.js";

/**
 * A rule any positive reading of metric `t` crosses at once (minor): for tests and the bench that need
 * rules and active alarms without devices writing.
 */
export function scratchRule(deviceId: string): NewAlarmRule {
  return {
    kind: "threshold",
    device_id: deviceId,
    metric: "t",
    op: ">",
    threshold: 0,
    for_ms: 0,
    severity: "minor",
  };
}

/** Raises `rule`'s alarm by judging one crossing reading at `at`, as the evaluator does on a write. */
export async function raiseAlarm(
  alarms: AlarmsStore,
  tenant: string,
  rule: AlarmRule,
  at: number,
): Promise<Alarm> {
  const result = await alarms.evaluate(tenant, rule.id, (stored, state) =>
    judgeReadings(stored, state, [{ timestamp_ms: at, value: 1 }]),
  );
  if (result.status !== "done" || !result.raised[0]) throw new Error("the scratch alarm was not raised");
  return result.raised[0];
}
