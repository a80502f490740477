import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { judgeReadings } from "../../alarms/judge.js";
import type { AlarmsStore, NewAlarmRule } from "../../alarms/types.js";
import type { Clock } from "../../stores/types.js";
import { deliveryId } from "../deliveries.js";
import { type AttemptOutcome, MAX_WEBHOOKS_PER_TENANT, type WebhooksStore } from "../types.js";

/** One instance's view: the alarms store (which enqueues deliveries) and the webhooks store. */
export interface WebhookInstance {
  alarms: AlarmsStore;
  webhooks: WebhooksStore;
}

/** Two instances on one database: two connections to one SQLite file, or two clients of one project. */
export interface WebhooksHarness {
  a: WebhookInstance;
  b: WebhookInstance;
  close(): Promise<void>;
}

const fence = (n: number) => String(n).padStart(15, "0");

/**
 * The contract of `WebhooksStore` (webhooks/types.ts), and of the alarms stores' enqueueing of
 * deliveries in their transitions' transactions, run against both implementations.
 */
export function describeWebhooksContract(
  name: string,
  make: (clock: Clock) => Promise<WebhooksHarness>,
): void {
  describe(name, () => {
    const now = Date.UTC(2026, 10, 1);
    let harness: WebhooksHarness;
    beforeAll(async () => {
      harness = await make(() => now);
    });
    afterAll(() => harness?.close());

    const tenant = () => `t${randomUUID().slice(0, 8)}`;
    const hook = (
      url = "https://hooks.example.com/a",
      severities: NewAlarmRule["severity"][] | null = null,
    ) => ({
      url,
      description: null,
      severities,
    });
    const above = (device: string, severity: NewAlarmRule["severity"] = "major"): NewAlarmRule => ({
      kind: "threshold",
      device_id: device,
      metric: "temp",
      op: ">",
      threshold: 30,
      for_ms: 0,
      severity,
    });
    const feed = (store: AlarmsStore, t: string, ruleId: string, at: number, value: number) =>
      store.evaluate(t, ruleId, (rule, state) => judgeReadings(rule, state, [{ timestamp_ms: at, value }]));
    const outcome = (attempt: number, overrides: Partial<AttemptOutcome> = {}): AttemptOutcome => ({
      attempt,
      at_ms: now + attempt,
      status_code: 500,
      error: null,
      duration_ms: 12,
      state: "pending",
      next_attempt_ms: now + 10_000 * attempt,
      ...overrides,
    });

    it("registers, lists, rotates and deletes webhooks, each tenant seeing only its own, at most MAX_WEBHOOKS_PER_TENANT", async () => {
      const [t1, t2] = [tenant(), tenant()];
      const first = await harness.a.webhooks.create(t1, hook(), "secret-1", "user-1");
      expect(first).toMatchObject({
        tenant_id: t1,
        url: "https://hooks.example.com/a",
        created_by: "user-1",
      });
      expect(first).not.toHaveProperty("secret");
      expect(await harness.b.webhooks.get(t1, first!.id)).toMatchObject({
        id: first!.id,
        secret: "secret-1",
      });
      expect(await harness.b.webhooks.get(t2, first!.id)).toBeNull();
      expect(await harness.b.webhooks.ownership(t2, first!.id)).toBe("other_tenant");
      expect(await harness.b.webhooks.ownership(t1, first!.id)).toBe("owned");
      expect(await harness.b.webhooks.ownership(t1, randomUUID())).toBe("missing");

      const rotated = await harness.b.webhooks.rotateSecret(t1, first!.id, "secret-2", now + 5);
      expect(rotated).toMatchObject({ id: first!.id, secret_rotated_at: now + 5 });
      expect(rotated).not.toHaveProperty("secret");
      expect((await harness.a.webhooks.get(t1, first!.id))?.secret).toBe("secret-2");
      expect(await harness.a.webhooks.rotateSecret(t2, first!.id, "stolen", now)).toBeNull();

      for (let n = 1; n < MAX_WEBHOOKS_PER_TENANT; n++) {
        expect(
          await harness.a.webhooks.create(t1, hook(`https://hooks.example.com/${n}`), "s", null),
        ).not.toBeNull();
      }
      expect(await harness.b.webhooks.create(t1, hook(), "s", null)).toBeNull();
      const listed = await harness.b.webhooks.list(t1);
      expect(listed).toHaveLength(MAX_WEBHOOKS_PER_TENANT);
      expect(listed.map((webhook) => webhook.id)).toContain(first!.id);
      expect(listed.every((webhook) => !("secret" in webhook))).toBe(true);
      expect(await harness.b.webhooks.list(t2)).toEqual([]);

      expect(await harness.b.webhooks.delete(t2, first!.id)).toBe(false);
      expect(await harness.b.webhooks.delete(t1, first!.id)).toBe(true);
      expect(await harness.a.webhooks.get(t1, first!.id)).toBeNull();
      expect(await harness.a.webhooks.delete(t1, first!.id)).toBe(false);
    });

    it("every alarm transition enqueues one delivery per matching webhook, in the transition's own write", async () => {
      const t = tenant();
      const all = await harness.a.webhooks.create(t, hook("https://hooks.example.com/all"), "s1", null);
      const criticalOnly = await harness.a.webhooks.create(
        t,
        hook("https://hooks.example.com/crit", ["critical"]),
        "s2",
        null,
      );
      const rule = await harness.a.alarms.createRule(t, above(randomUUID(), "major"), null);
      // Another tenant's transitions reach none of these webhooks.
      const other = tenant();
      const otherRule = await harness.b.alarms.createRule(other, above(randomUUID()), null);
      await feed(harness.b.alarms, other, otherRule.id, now, 40);

      const raised = await feed(harness.b.alarms, t, rule.id, now, 40);
      expect(raised).toMatchObject({ status: "done" });
      const alarmId = raised.status === "done" ? raised.raised[0]!.id : "";
      await harness.a.alarms.acknowledge(t, alarmId, "user-1", now + 1);
      await harness.a.alarms.acknowledge(t, alarmId, "user-2", now + 2); // changes nothing: no delivery
      await feed(harness.b.alarms, t, rule.id, now + 3, 20);

      const events = ["alarm.raised", "alarm.acknowledged", "alarm.cleared"] as const;
      for (const event of events) {
        const delivery = await harness.a.webhooks.getDelivery(t, deliveryId(all!.id, alarmId, event));
        expect(delivery).toMatchObject({
          state: "pending",
          attempts: 0,
          webhook_id: all!.id,
          event,
          alarm_id: alarmId,
        });
        const body = JSON.parse(delivery!.body);
        expect(body).toMatchObject({
          id: delivery!.id,
          event,
          tenant: t,
          alarm: { id: alarmId, severity: "major" },
        });
        expect(body.alarm).not.toHaveProperty("tenant_id");
        expect(
          await harness.a.webhooks.getDelivery(t, deliveryId(criticalOnly!.id, alarmId, event)),
        ).toBeNull();
      }
      const raisedBody = JSON.parse(
        (await harness.b.webhooks.getDelivery(t, deliveryId(all!.id, alarmId, "alarm.raised")))!.body,
      );
      expect(raisedBody).toMatchObject({ occurred_ms: now, alarm: { state: "active", cleared_ms: null } });
      const clearedBody = JSON.parse(
        (await harness.b.webhooks.getDelivery(t, deliveryId(all!.id, alarmId, "alarm.cleared")))!.body,
      );
      expect(clearedBody).toMatchObject({
        occurred_ms: now + 3,
        alarm: { state: "cleared", cleared_ms: now + 3 },
      });
      expect(
        await harness.b.webhooks.getDelivery(other, deliveryId(all!.id, alarmId, "alarm.raised")),
      ).toBeNull();

      const pending = (await harness.b.webhooks.pending(200)).filter((delivery) => delivery.tenant_id === t);
      expect(pending.map((delivery) => delivery.event).sort()).toEqual([...events].sort());

      // Deleting a rule clears its open alarm: that is a transition too.
      const second = await harness.a.alarms.createRule(t, above(randomUUID(), "critical"), null);
      const again = await feed(harness.a.alarms, t, second.id, now, 50);
      const secondAlarm = again.status === "done" ? again.raised[0]!.id : "";
      await harness.b.alarms.deleteRule(t, second.id, now + 9);
      expect(
        await harness.a.webhooks.getDelivery(t, deliveryId(criticalOnly!.id, secondAlarm, "alarm.cleared")),
      ).toMatchObject({
        event: "alarm.cleared",
      });
    });

    it("records attempts in order, fenced: a stale attempt or an older fence writes nothing", async () => {
      const t = tenant();
      const webhook = await harness.a.webhooks.create(t, hook(), "s", null);
      const rule = await harness.a.alarms.createRule(t, above(randomUUID()), null);
      const raised = await feed(harness.a.alarms, t, rule.id, now, 40);
      const alarmId = raised.status === "done" ? raised.raised[0]!.id : "";
      const id = deliveryId(webhook!.id, alarmId, "alarm.raised");

      expect(await harness.a.webhooks.recordFence(fence(10))).toBe(true);
      expect(await harness.a.webhooks.recordAttempt(t, id, outcome(1), fence(10))).toBe("recorded");
      // The same attempt again (another holder that sent it too) is stale.
      expect(await harness.b.webhooks.recordAttempt(t, id, outcome(1), fence(10))).toBe("stale");
      expect(await harness.b.webhooks.recordAttempt(tenant(), id, outcome(2), fence(10))).toBe("stale");
      // A newer holder records its fence: the older one's writes are refused from then on.
      expect(await harness.b.webhooks.recordFence(fence(11))).toBe(true);
      expect(await harness.a.webhooks.recordFence(fence(10))).toBe(false);
      expect(
        await harness.a.webhooks.recordAttempt(
          t,
          id,
          outcome(2, { state: "delivered", status_code: 200, next_attempt_ms: null }),
          fence(10),
        ),
      ).toBe("fenced");
      expect(await harness.a.webhooks.getDelivery(t, id)).toMatchObject({ state: "pending", attempts: 1 });

      expect(
        await harness.b.webhooks.recordAttempt(
          t,
          id,
          outcome(2, { status_code: null, error: "ECONNREFUSED" }),
          fence(11),
        ),
      ).toBe("recorded");
      expect(
        await harness.b.webhooks.recordAttempt(
          t,
          id,
          outcome(3, { state: "delivered", status_code: 204, next_attempt_ms: null }),
          fence(11),
        ),
      ).toBe("recorded");
      expect(await harness.a.webhooks.getDelivery(t, id)).toMatchObject({
        state: "delivered",
        attempts: 3,
        next_attempt_ms: null,
        fence: fence(11),
      });
      expect((await harness.a.webhooks.pending(200)).some((delivery) => delivery.id === id)).toBe(false);

      const first = await harness.a.webhooks.attempts(t, webhook!.id, { limit: 2 });
      expect(
        first.items.map((attempt) => [attempt.attempt, attempt.status_code, attempt.error, attempt.state]),
      ).toEqual([
        [3, 204, null, "delivered"],
        [2, null, "ECONNREFUSED", "pending"],
      ]);
      expect(first.items[0]).toMatchObject({ delivery_id: id, event: "alarm.raised", duration_ms: 12 });
      const rest = await harness.b.webhooks.attempts(t, webhook!.id, { limit: 2, cursor: first.next_cursor });
      expect(rest.items.map((attempt) => attempt.attempt)).toEqual([1]);
      expect(rest.next_cursor).toBeNull();
      expect((await harness.b.webhooks.attempts(tenant(), webhook!.id, { limit: 5 })).items).toEqual([]);
    });
  });
}
