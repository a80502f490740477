import { describe, expect, it } from "vitest";
import { judgeReadings, QUIET_STATE_WRITE_MS } from "./judge.js";
import { type AlarmRule, INITIAL_RULE_STATE, type RuleState } from "./types.js";

const rule: AlarmRule = {
  id: "7d1c4a52-3f0e-4b8a-9c2d-1e5f6a7b8c9d",
  tenant_id: "t1",
  device_id: "d1",
  kind: "threshold",
  metric: "zone_temp_c",
  op: ">",
  threshold: 26,
  for_ms: 30_000,
  severity: "major",
  created_at: 0,
  created_by: null,
};

/** Judges one reading and, as the store does, keeps the state only when the judgement says to write. */
function judge(state: RuleState, at: number, value: number) {
  const judgement = judgeReadings(rule, state, [{ timestamp_ms: at, value }]);
  return { judgement, state: judgement ? judgement.state : state };
}

describe("judging a threshold rule", () => {
  it("writes a quiet rule's state once a minute of readings, not on every reading", () => {
    let { judgement, state } = judge(INITIAL_RULE_STATE, 1_000, 21);
    expect(judgement).not.toBeNull();
    expect(state.last_point_ms).toBe(1_000);
    for (let at = 13_000; at < 1_000 + QUIET_STATE_WRITE_MS; at += 12_000) {
      ({ judgement, state } = judge(state, at, 21));
      expect(judgement, `reading at ${at}`).toBeNull();
    }
    ({ judgement, state } = judge(state, 1_000 + QUIET_STATE_WRITE_MS, 21));
    expect(judgement?.events).toEqual([]);
    expect(state.last_point_ms).toBe(1_000 + QUIET_STATE_WRITE_MS);
  });

  it("writes when a crossing begins, skips while it holds short of for_ms, raises once it has held, and clears", () => {
    let { judgement, state } = judge(INITIAL_RULE_STATE, 0, 21);
    ({ judgement, state } = judge(state, 10_000, 30));
    expect(judgement?.events).toEqual([]);
    expect(state.since).toBe(10_000);
    ({ judgement, state } = judge(state, 20_000, 31));
    expect(judgement).toBeNull();
    ({ judgement, state } = judge(state, 40_000, 32));
    expect(judgement?.events).toEqual([{ type: "raise", at: 40_000, value: 32 }]);
    // The store records the open alarm with the raise; a crossing reading then moves nothing.
    state = { ...state, open_alarm_id: `${rule.id}.1`, raised: 1 };
    ({ judgement, state } = judge(state, 50_000, 33));
    expect(judgement).toBeNull();
    ({ judgement, state } = judge(state, 55_000, 22));
    expect(judgement?.events).toEqual([{ type: "clear", at: 55_000 }]);
    expect(state.since).toBeNull();
  });

  it("ignores readings no newer than the newest one written", () => {
    const { state } = judge(INITIAL_RULE_STATE, 100_000, 21);
    expect(judgeReadings(rule, state, [{ timestamp_ms: 90_000, value: 40 }])).toBeNull();
    expect(judgeReadings(rule, state, [{ timestamp_ms: 100_000, value: 40 }])).toBeNull();
  });
});
