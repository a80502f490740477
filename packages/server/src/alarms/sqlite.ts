import type { SqliteDatabase } from "../storage/sqlite.js";
import { aggregationReads, queryReads } from "../stores/billing.js";
import { decodeCursor, encodeCursor } from "../stores/cursor.js";
import { assertLimit, isUuidV4 } from "../stores/keys.js";
import { withSqlite } from "../stores/sqlite/context.js";
import type { RetentionTarget } from "../stores/sqlite/retention.js";
import type { Clock, Page, TenantId } from "../stores/types.js";
import { ignoreUsage, type UsageRecorder } from "../stores/usage.js";
import { acknowledgedTransition, clearedTransition, evaluationTransitions } from "../webhooks/deliveries.js";
import { sqliteDeliveryOutbox } from "../webhooks/sqlite.js";
import { sqliteFence } from "./fences.js";
import { acknowledged, alarmExpiry, applyJudgement, isAlarmId, isStale } from "./judge.js";
import { newRuleRecord } from "./records.js";
import {
  type Alarm,
  type AlarmRule,
  type AlarmState,
  type AlarmsStore,
  type EvaluationResult,
  INITIAL_RULE_STATE,
  type RuleState,
} from "./types.js";

/** The offline sweep's row in `alarm_fences`. */
const SWEEP_SCOPE = "offline-sweep";

interface RuleRow {
  rule: string;
  state: string;
}
interface AlarmRow {
  alarm: string;
}

/**
 * Alarm rules and alarms in the SQLite file (migration 55): for the processes of one host sharing a
 * data dir. Every transition runs in `BEGIN IMMEDIATE` (better-sqlite3's transaction), so two processes
 * judging one rule serialise on the write lock; the partial unique index `alarms_one_open_per_rule` is
 * the last word on "one open alarm per rule".
 *
 * @example
 * const alarms = createSqliteAlarmsStore(db, { clock });
 */
export function createSqliteAlarmsStore(
  db: SqliteDatabase,
  options: {
    clock?: Clock;
    usage?: UsageRecorder;
    /** Told after a transition's webhook deliveries were committed (the dispatcher wakes up). */
    onDeliveriesEnqueued?: (tenant: TenantId) => void;
  } = {},
): AlarmsStore {
  const usage = options.usage ?? ignoreUsage;
  const clock = options.clock ?? Date.now;
  const enqueue = sqliteDeliveryOutbox(db);
  /** Deliveries enqueued by the transaction that ran last (each runs whole, synchronously). */
  let enqueued = 0;
  const enqueueIn = (tenant: TenantId, transitions: Parameters<typeof enqueue>[1]) => {
    const result = enqueue(tenant, transitions, clock());
    enqueued = result.enqueued;
    return result;
  };
  /** Runs a transaction, then tells of the deliveries it enqueued. */
  const announcing = <T>(tenant: TenantId, run: () => T): T => {
    enqueued = 0;
    const result = withSqlite(run);
    if (enqueued > 0) options.onDeliveriesEnqueued?.(tenant);
    return result;
  };
  const record = (reads: number, writes: number) => usage.record("sqlite", "alarms", reads, writes);
  const insertRule = db.prepare(
    "INSERT INTO alarm_rules (id, tenant_id, device_id, kind, created_at, rule, state) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  const ruleById = db.prepare<[string], RuleRow & { tenant_id: string }>(
    "SELECT tenant_id, rule, state FROM alarm_rules WHERE id = ?",
  );
  const rulesFirst = db.prepare<[string, number], RuleRow>(
    "SELECT rule, state FROM alarm_rules WHERE tenant_id = ? ORDER BY created_at, id LIMIT ?",
  );
  const rulesNext = db.prepare<[string, number, string, number], RuleRow>(
    "SELECT rule, state FROM alarm_rules WHERE tenant_id = ? AND (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?",
  );
  const rulesOfDevice = db.prepare<[string, string], RuleRow>(
    "SELECT rule, state FROM alarm_rules WHERE tenant_id = ? AND device_id = ? ORDER BY created_at, id",
  );
  const offlineFrom = db.prepare<[string, number], RuleRow>(
    "SELECT rule, state FROM alarm_rules WHERE kind = 'offline' AND id > ? ORDER BY id LIMIT ?",
  );
  const deleteRuleRow = db.prepare("DELETE FROM alarm_rules WHERE id = ?");
  const setState = db.prepare("UPDATE alarm_rules SET state = ? WHERE id = ?");
  const alarmById = db.prepare<[string], AlarmRow & { tenant_id: string }>(
    "SELECT tenant_id, alarm FROM alarms WHERE id = ?",
  );
  const insertAlarm = db.prepare(
    "INSERT INTO alarms (id, tenant_id, rule_id, state, raised_ms, alarm, expire_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  const updateAlarm = db.prepare("UPDATE alarms SET state = ?, alarm = ?, expire_at = ? WHERE id = ?");
  const sweepFence = sqliteFence(db, SWEEP_SCOPE, record);
  const countInState = db.prepare<[string, string], { count: number }>(
    "SELECT COUNT(*) AS count FROM alarms INDEXED BY alarms_by_state WHERE tenant_id = ? AND state = ?",
  );

  const toRule = (row: RuleRow): AlarmRule => JSON.parse(row.rule) as AlarmRule;
  /** A page from `limit + 1` rows: the extra row says whether there is a next page. */
  const pageOf = <R, T>(
    rows: R[],
    limit: number,
    toItem: (row: R) => T,
    cursorOf: (item: T) => string,
  ): Page<T> => {
    record(queryReads(Math.min(rows.length, limit)), 0);
    const items = rows.slice(0, limit).map(toItem);
    const last = items[items.length - 1];
    return { items, next_cursor: rows.length > limit && last !== undefined ? cursorOf(last) : null };
  };
  const toAlarm = (row: AlarmRow): Alarm => JSON.parse(row.alarm) as Alarm;
  const writeAlarm = (alarm: Alarm, created: boolean) => {
    const json = JSON.stringify(alarm);
    if (created) {
      insertAlarm.run(
        alarm.id,
        alarm.tenant_id,
        alarm.rule_id,
        alarm.state,
        alarm.raised_ms,
        json,
        alarmExpiry(alarm),
      );
    } else {
      updateAlarm.run(alarm.state, json, alarmExpiry(alarm), alarm.id);
    }
  };
  const listAlarms = (
    tenant: TenantId,
    state: AlarmState | undefined,
    limit: number,
    cursor: string | null,
  ) => {
    const after = cursor ? decodeCursor("alarms", cursor) : null;
    const where = ["tenant_id = ?"];
    const params: (string | number)[] = [tenant];
    if (state) {
      where.push("state = ?");
      params.push(state);
    }
    if (after) {
      where.push("(raised_ms, id) < (?, ?)");
      params.push(after.t, after.id);
    }
    return db
      .prepare<(string | number)[], AlarmRow>(
        `SELECT alarm FROM alarms WHERE ${where.join(" AND ")} ORDER BY raised_ms DESC, id DESC LIMIT ?`,
      )
      .all(...params, limit + 1);
  };

  const evaluate = db.transaction(
    (
      tenant: TenantId,
      ruleId: string,
      judge: Parameters<AlarmsStore["evaluate"]>[2],
      fence: string | undefined,
    ): EvaluationResult => {
      const row = ruleById.get(ruleId);
      let reads = 1;
      let writes = 0;
      try {
        if (!row || row.tenant_id !== tenant) return { status: "missing" };
        const rule = toRule(row);
        const state = JSON.parse(row.state) as RuleState;
        if (fence !== undefined) {
          reads += 1;
          if (isStale(fence, sweepFence.current()) || isStale(fence, state.fence)) {
            return { status: "fenced" };
          }
        }
        const judgement = judge(rule, state);
        if (!judgement) return { status: "done", raised: [], cleared: [] };
        let open: Alarm | null = null;
        if (state.open_alarm_id) {
          reads += 1;
          const openRow = alarmById.get(state.open_alarm_id);
          open = openRow ? toAlarm(openRow) : null;
        }
        const transition = applyJudgement(rule, state, open, judgement, fence ?? null);
        setState.run(JSON.stringify(transition.state), ruleId);
        writes += 1;
        for (const alarm of transition.created) writeAlarm(alarm, true);
        if (transition.closed) writeAlarm(transition.closed, false);
        writes += transition.created.length + (transition.closed ? 1 : 0);
        const outbox = enqueueIn(tenant, evaluationTransitions(transition.created, transition.closed));
        reads += outbox.reads;
        writes += outbox.writes;
        const cleared = [...transition.created, ...(transition.closed ? [transition.closed] : [])].filter(
          (alarm) => alarm.state === "cleared",
        );
        return { status: "done", raised: transition.created, cleared };
      } finally {
        record(reads, writes);
      }
    },
  );

  return {
    async createRule(tenant, rule, by) {
      const stored = newRuleRecord(tenant, rule, by, clock());
      withSqlite(() =>
        insertRule.run(
          stored.id,
          tenant,
          stored.device_id,
          stored.kind,
          stored.created_at,
          JSON.stringify(stored),
          JSON.stringify(INITIAL_RULE_STATE),
        ),
      );
      record(0, 1);
      return stored;
    },
    async getRule(tenant, id) {
      if (!isUuidV4(id)) return null;
      const row = withSqlite(() => ruleById.get(id));
      record(1, 0);
      return row && row.tenant_id === tenant ? toRule(row) : null;
    },
    async listRules(tenant, { limit, cursor }) {
      assertLimit(limit);
      const after = cursor ? decodeCursor("alarm_rules", cursor) : null;
      const rows = withSqlite(() =>
        after ? rulesNext.all(tenant, after.t, after.id, limit + 1) : rulesFirst.all(tenant, limit + 1),
      );
      return pageOf(rows, limit, toRule, (rule) =>
        encodeCursor({ k: "alarm_rules", t: rule.created_at, id: rule.id }),
      );
    },
    async rulesForDevice(tenant, deviceId) {
      const rows = withSqlite(() => rulesOfDevice.all(tenant, deviceId));
      record(queryReads(rows.length), 0);
      return rows.map(toRule);
    },
    async offlineRules({ limit, cursor }) {
      assertLimit(limit);
      const after = cursor ? decodeCursor("offline_rules", cursor).id : "";
      const rows = withSqlite(() => offlineFrom.all(after, limit + 1));
      return pageOf(rows, limit, toRule, (rule) => encodeCursor({ k: "offline_rules", id: rule.id }));
    },
    async deleteRule(tenant, id, at) {
      if (!isUuidV4(id)) return false;
      return announcing(tenant, () =>
        db
          .transaction(() => {
            const row = ruleById.get(id);
            if (!row || row.tenant_id !== tenant) {
              record(1, 0);
              return false;
            }
            const state = JSON.parse(row.state) as RuleState;
            const open = state.open_alarm_id ? alarmById.get(state.open_alarm_id) : undefined;
            const outbox = { reads: 0, writes: 0 };
            if (open) {
              const cleared: Alarm = { ...toAlarm(open), state: "cleared", cleared_ms: at };
              writeAlarm(cleared, false);
              Object.assign(outbox, enqueueIn(tenant, [clearedTransition(cleared)]));
            }
            deleteRuleRow.run(id);
            record((open ? 2 : 1) + outbox.reads, (open ? 2 : 1) + outbox.writes);
            return true;
          })
          .immediate(),
      );
    },
    async evaluate(tenant, ruleId, judge, evaluateOptions = {}) {
      if (!isUuidV4(ruleId)) return { status: "missing" };
      return announcing(tenant, () => evaluate.immediate(tenant, ruleId, judge, evaluateOptions.fence));
    },
    async recordFence(fence) {
      return withSqlite(() => sweepFence.record(fence));
    },
    async getAlarm(tenant, id) {
      if (!isAlarmId(id)) return null;
      const row = withSqlite(() => alarmById.get(id));
      record(1, 0);
      return row && row.tenant_id === tenant ? toAlarm(row) : null;
    },
    async ownership(tenant, id) {
      const row = withSqlite(() =>
        isUuidV4(id) ? ruleById.get(id) : isAlarmId(id) ? alarmById.get(id) : undefined,
      );
      record(1, 0);
      return !row ? "missing" : row.tenant_id === tenant ? "owned" : "other_tenant";
    },
    async listAlarms(tenant, { state, limit, cursor }): Promise<Page<Alarm>> {
      assertLimit(limit);
      const rows = withSqlite(() => listAlarms(tenant, state, limit, cursor ?? null));
      return pageOf(rows, limit, toAlarm, (alarm) =>
        encodeCursor({ k: "alarms", t: alarm.raised_ms, id: alarm.id }),
      );
    },
    async countAlarms(tenant, state) {
      const count = withSqlite(() => countInState.get(tenant, state)?.count ?? 0);
      record(aggregationReads(count), 0);
      return count;
    },
    async acknowledge(tenant, id, by, at) {
      if (!isAlarmId(id)) return null;
      return announcing(tenant, () =>
        db
          .transaction((): Alarm | null => {
            const row = alarmById.get(id);
            if (!row || row.tenant_id !== tenant) {
              record(1, 0);
              return null;
            }
            const current = toAlarm(row);
            const next = acknowledged(current, by, at);
            const outbox = next ? enqueueIn(tenant, [acknowledgedTransition(next)]) : { reads: 0, writes: 0 };
            if (next) writeAlarm(next, false);
            record(1 + outbox.reads, (next ? 1 : 0) + outbox.writes);
            return next ?? current;
          })
          .immediate(),
      );
    },
  };
}

/** Cleared alarms past their year, for the SQLite retention job (`stores/sqlite/retention.ts`). */
export function alarmRetentionTarget(db: SqliteDatabase): RetentionTarget {
  const expired = db.prepare<[number, number]>(
    `DELETE FROM alarms WHERE id IN
       (SELECT id FROM alarms INDEXED BY alarms_by_expiry WHERE expire_at IS NOT NULL AND expire_at <= ? LIMIT ?)`,
  );
  return {
    table: "alarms",
    deleteExpired(now, limit) {
      const deleted = expired.run(now, limit).changes;
      return { deleted, done: deleted < limit };
    },
  };
}
