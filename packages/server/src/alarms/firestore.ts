import { FieldPath, type Firestore, type Query, Timestamp } from "@google-cloud/firestore";
import { aggregationReads, queryReads } from "../stores/billing.js";
import { decodeCursor, encodeCursor } from "../stores/cursor.js";
import {
  firestoreContext,
  recordFirestore,
  runBilledTransaction,
  type TransactionBill,
  withFirestore,
} from "../stores/firestore/context.js";
import { assertLimit, isUuidV4 } from "../stores/keys.js";
import type { Clock, Page, TenantId } from "../stores/types.js";
import type { UsageRecorder } from "../stores/usage.js";
import {
  type AlarmTransition,
  acknowledgedTransition,
  clearedTransition,
  evaluationTransitions,
} from "../webhooks/deliveries.js";
import { firestoreDeliveryOutbox } from "../webhooks/firestore.js";
import { recordFirestoreFence } from "./firestore-fences.js";
import { acknowledged, alarmExpiry, applyJudgement, isAlarmId, isStale } from "./judge.js";
import { newRuleRecord } from "./records.js";
import {
  type Alarm,
  type AlarmRule,
  type AlarmsStore,
  type EvaluationResult,
  INITIAL_RULE_STATE,
  type RuleState,
} from "./types.js";

/** The collections, overridable so that tests (or deployments) can share a database. */
export interface AlarmCollections {
  rules: string;
  alarms: string;
  fences: string;
}

export const ALARM_COLLECTIONS: AlarmCollections = {
  rules: "alarm_rules",
  alarms: "alarms",
  fences: "alarm_fences",
};

const SWEEP_SCOPE = "offline-sweep";

/**
 * Alarm rules and alarms in Firestore (docs/design/alarms.md): a rule document (`alarm_rules/<id>`) holds
 * the rule and where it stands; every transition is a transaction that reads it and writes it back, so
 * two instances judging the same rule at once serialise (one of them retries on the other's write). An
 * alarm's id derives from its rule and count (`<rule>.<n>`) and is written with `create`, so even two
 * transactions that both believed no alarm was open could not write two. Cleared alarms carry `expire_at`
 * (TTL) a year later.
 *
 * @example
 * const alarms = createFirestoreAlarmsStore(db, { clock });
 */
export function createFirestoreAlarmsStore(
  db: Firestore,
  options: {
    clock?: Clock;
    usage?: UsageRecorder;
    collections?: AlarmCollections;
    /** Told after a transition's webhook deliveries were committed (the dispatcher wakes up). */
    onDeliveriesEnqueued?: (tenant: TenantId) => void;
  } = {},
): AlarmsStore {
  const clock = options.clock ?? Date.now;
  const names = options.collections ?? ALARM_COLLECTIONS;
  const context = firestoreContext(db, { clock, usage: options.usage });
  const record = (reads: number, writes: number) => recordFirestore(context, "alarms", reads, writes);
  const rules = db.collection(names.rules);
  const alarms = db.collection(names.alarms);
  const sweepFence = db.collection(names.fences).doc(SWEEP_SCOPE);

  const alarmData = (alarm: Alarm) => {
    const expiry = alarmExpiry(alarm);
    return {
      tenant_id: alarm.tenant_id,
      rule_id: alarm.rule_id,
      state: alarm.state,
      raised_ms: alarm.raised_ms,
      alarm,
      expire_at: expiry === null ? null : Timestamp.fromMillis(expiry),
    };
  };
  const page = async <T>(
    query: Query,
    limit: number,
    cursorOf: (item: T) => string,
    read: (data: FirebaseFirestore.DocumentData) => T,
  ): Promise<Page<T>> => {
    const snapshot = await withFirestore(() => query.limit(limit + 1).get());
    record(queryReads(Math.min(snapshot.size, limit)), 0);
    const items = snapshot.docs.slice(0, limit).map((doc) => read(doc.data()));
    const last = items[items.length - 1];
    return { items, next_cursor: snapshot.size > limit && last !== undefined ? cursorOf(last) : null };
  };
  const outbox = firestoreDeliveryOutbox(db);
  /**
   * Runs a transition's transaction; `enqueue` (called in it, after its reads, before its writes) reads
   * the tenant's webhooks once there are transitions, and returns what writes their deliveries. Once it
   * commits, the deliveries are announced.
   */
  const transition = async <T>(
    tenant: TenantId,
    work: (
      transaction: FirebaseFirestore.Transaction,
      bill: TransactionBill,
      enqueue: (transitions: AlarmTransition[]) => Promise<() => void>,
    ) => Promise<T>,
  ): Promise<T> => {
    let enqueued = 0;
    const result = await runBilledTransaction(context, "alarms", (transaction, bill) => {
      enqueued = 0;
      return work(transaction, bill, async (transitions) => {
        if (transitions.length === 0) return () => undefined;
        const { hooks, reads } = await outbox.read(transaction, tenant);
        bill.read(reads);
        return () => {
          enqueued = outbox.write(transaction, tenant, hooks, transitions, clock());
          bill.write(enqueued);
        };
      });
    });
    if (enqueued > 0) options.onDeliveriesEnqueued?.(tenant);
    return result;
  };
  const ruleOf = (data: FirebaseFirestore.DocumentData) => data.rule as AlarmRule;
  const alarmOf = (data: FirebaseFirestore.DocumentData) => data.alarm as Alarm;

  return {
    async createRule(tenant, rule, by) {
      const stored = newRuleRecord(tenant, rule, by, clock());
      await withFirestore(() =>
        rules.doc(stored.id).create({
          tenant_id: tenant,
          device_id: stored.device_id,
          kind: stored.kind,
          created_at: stored.created_at,
          rule: stored,
          state: INITIAL_RULE_STATE,
        }),
      );
      record(0, 1);
      return stored;
    },
    async getRule(tenant, id) {
      if (!isUuidV4(id)) return null;
      const snapshot = await withFirestore(() => rules.doc(id).get());
      record(1, 0);
      return snapshot.exists && snapshot.get("tenant_id") === tenant ? ruleOf(snapshot.data()!) : null;
    },
    async listRules(tenant, { limit, cursor }) {
      assertLimit(limit);
      let query = rules
        .where("tenant_id", "==", tenant)
        .orderBy("created_at")
        .orderBy(FieldPath.documentId());
      if (cursor) {
        const after = decodeCursor("alarm_rules", cursor);
        query = query.startAfter(after.t, after.id);
      }
      return page(
        query,
        limit,
        (rule: AlarmRule) => encodeCursor({ k: "alarm_rules", t: rule.created_at, id: rule.id }),
        ruleOf,
      );
    },
    async rulesForDevice(tenant, deviceId) {
      const snapshot = await withFirestore(() =>
        rules.where("tenant_id", "==", tenant).where("device_id", "==", deviceId).get(),
      );
      record(queryReads(snapshot.size), 0);
      return snapshot.docs.map((doc) => ruleOf(doc.data())).sort((a, b) => a.created_at - b.created_at);
    },
    async offlineRules({ limit, cursor }) {
      assertLimit(limit);
      let query = rules.where("kind", "==", "offline").orderBy(FieldPath.documentId());
      if (cursor) query = query.startAfter(decodeCursor("offline_rules", cursor).id);
      return page(
        query,
        limit,
        (rule: AlarmRule) => encodeCursor({ k: "offline_rules", id: rule.id }),
        ruleOf,
      );
    },
    async deleteRule(tenant, id, at) {
      if (!isUuidV4(id)) return false;
      return transition(tenant, async (transaction, bill, enqueue) => {
        const snapshot = await transaction.get(rules.doc(id));
        bill.read();
        if (!snapshot.exists || snapshot.get("tenant_id") !== tenant) return false;
        const state = snapshot.get("state") as RuleState;
        if (state.open_alarm_id) {
          const open = await transaction.get(alarms.doc(state.open_alarm_id));
          bill.read();
          if (open.exists) {
            const cleared: Alarm = { ...alarmOf(open.data()!), state: "cleared", cleared_ms: at };
            const writeDeliveries = await enqueue([clearedTransition(cleared)]);
            transaction.set(alarms.doc(open.id), alarmData(cleared));
            bill.write();
            writeDeliveries();
          }
        }
        transaction.delete(rules.doc(id));
        bill.write();
        return true;
      });
    },
    async evaluate(tenant, ruleId, judge, evaluateOptions = {}) {
      if (!isUuidV4(ruleId)) return { status: "missing" };
      const { fence } = evaluateOptions;
      if (fence === undefined) {
        // Most readings move nothing (judge returns null): a plain read decides that, without a
        // transaction's round trips and locks on the rule, which every request of the device would
        // otherwise queue on. A judgement that moves something is made again inside the transaction
        // below, on the state it reads there. Judging on a snapshot a concurrent write has just passed
        // is the same as the readings having arrived in the other order (judge.ts, QUIET_STATE_WRITE_MS).
        const snapshot = await withFirestore(() => rules.doc(ruleId).get());
        record(1, 0);
        if (!snapshot.exists || snapshot.get("tenant_id") !== tenant) return { status: "missing" };
        const judgement = judge(ruleOf(snapshot.data()!), snapshot.get("state") as RuleState);
        if (!judgement) return { status: "done", raised: [], cleared: [] };
      }
      return transition(tenant, async (transaction, bill, enqueue): Promise<EvaluationResult> => {
        const [snapshot, recorded] = await transaction.getAll(
          rules.doc(ruleId),
          ...(fence === undefined ? [] : [sweepFence]),
        );
        bill.read(fence === undefined ? 1 : 2);
        if (!snapshot?.exists || snapshot.get("tenant_id") !== tenant) return { status: "missing" };
        const rule = ruleOf(snapshot.data()!);
        const state = snapshot.get("state") as RuleState;
        if (fence !== undefined && (isStale(fence, recorded?.get("fence")) || isStale(fence, state.fence))) {
          return { status: "fenced" };
        }
        const judgement = judge(rule, state);
        if (!judgement) return { status: "done", raised: [], cleared: [] };
        let open: Alarm | null = null;
        if (state.open_alarm_id) {
          const openSnapshot = await transaction.get(alarms.doc(state.open_alarm_id));
          bill.read();
          open = openSnapshot.exists ? alarmOf(openSnapshot.data()!) : null;
        }
        const moved = applyJudgement(rule, state, open, judgement, fence ?? null);
        const writeDeliveries = await enqueue(evaluationTransitions(moved.created, moved.closed));
        transaction.update(rules.doc(ruleId), { state: moved.state });
        for (const alarm of moved.created) transaction.create(alarms.doc(alarm.id), alarmData(alarm));
        if (moved.closed) transaction.set(alarms.doc(moved.closed.id), alarmData(moved.closed));
        bill.write(1 + moved.created.length + (moved.closed ? 1 : 0));
        writeDeliveries();
        const cleared = [...moved.created, ...(moved.closed ? [moved.closed] : [])].filter(
          (alarm) => alarm.state === "cleared",
        );
        return { status: "done", raised: moved.created, cleared };
      });
    },
    async recordFence(fence) {
      return recordFirestoreFence(context, "alarms", sweepFence, fence);
    },
    async getAlarm(tenant, id) {
      if (!isAlarmId(id)) return null;
      const snapshot = await withFirestore(() => alarms.doc(id).get());
      record(1, 0);
      return snapshot.exists && snapshot.get("tenant_id") === tenant ? alarmOf(snapshot.data()!) : null;
    },
    async ownership(tenant, id) {
      const reference = isUuidV4(id) ? rules.doc(id) : isAlarmId(id) ? alarms.doc(id) : null;
      if (!reference) return "missing";
      const snapshot = await withFirestore(() => reference.get());
      record(1, 0);
      if (!snapshot.exists) return "missing";
      return snapshot.get("tenant_id") === tenant ? "owned" : "other_tenant";
    },
    async listAlarms(tenant, { state, limit, cursor }) {
      assertLimit(limit);
      let query: Query = alarms.where("tenant_id", "==", tenant);
      if (state) query = query.where("state", "==", state);
      query = query.orderBy("raised_ms", "desc").orderBy(FieldPath.documentId(), "desc");
      if (cursor) {
        const after = decodeCursor("alarms", cursor);
        query = query.startAfter(after.t, after.id);
      }
      return page(
        query,
        limit,
        (alarm: Alarm) => encodeCursor({ k: "alarms", t: alarm.raised_ms, id: alarm.id }),
        alarmOf,
      );
    },
    async countAlarms(tenant, state) {
      // An equality-only count: served from the single-field indexes (or `alarms (tenant_id, state,
      // raised_ms)`), no index of its own.
      const snapshot = await withFirestore(() =>
        alarms.where("tenant_id", "==", tenant).where("state", "==", state).count().get(),
      );
      const { count } = snapshot.data();
      record(aggregationReads(count), 0);
      return count;
    },
    async acknowledge(tenant, id, by, at) {
      if (!isAlarmId(id)) return null;
      return transition(tenant, async (transaction, bill, enqueue) => {
        const snapshot = await transaction.get(alarms.doc(id));
        bill.read();
        if (!snapshot.exists || snapshot.get("tenant_id") !== tenant) return null;
        const current = alarmOf(snapshot.data()!);
        const next = acknowledged(current, by, at);
        if (!next) return current;
        const writeDeliveries = await enqueue([acknowledgedTransition(next)]);
        transaction.set(alarms.doc(id), alarmData(next));
        bill.write();
        writeDeliveries();
        return next;
      });
    },
  };
}
