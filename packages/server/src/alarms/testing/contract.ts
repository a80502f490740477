import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Clock } from "../../stores/types.js";
import { judgeQuiet, judgeReadings } from "../judge.js";
import type { AlarmRule, AlarmsStore, NewAlarmRule } from "../types.js";

/**
 * Two views of one alarms store, as two instances have them: the same SQLite file through two
 * connections, or two clients of the same Firestore project.
 */
export interface AlarmsHarness {
  a: AlarmsStore;
  b: AlarmsStore;
  close(): Promise<void>;
}

const fence = (n: number) => String(n).padStart(15, "0");

/**
 * The contract of `AlarmsStore` (alarms/types.ts), run against both implementations, as the stores'
 * contract suite is (`stores/testing/contract.ts`).
 */
export function describeAlarmsContract(name: string, make: (clock: Clock) => Promise<AlarmsHarness>): void {
  describe(name, () => {
    const now = Date.UTC(2026, 10, 1);
    let harness: AlarmsHarness;
    beforeAll(async () => {
      harness = await make(() => now);
    });
    afterAll(() => harness?.close());

    const tenant = () => `t${randomUUID().slice(0, 8)}`;
    const above = (device: string, threshold = 30, for_ms = 0): NewAlarmRule => ({
      kind: "threshold",
      device_id: device,
      metric: "temp",
      op: ">",
      threshold,
      for_ms,
      severity: "major",
    });
    const readings = (...pairs: [number, number][]) =>
      pairs.map(([timestamp_ms, value]) => ({ timestamp_ms, value }));
    const feed = (store: AlarmsStore, t: string, rule: AlarmRule, ...pairs: [number, number][]) =>
      store.evaluate(t, rule.id, (r, state) => judgeReadings(r, state, readings(...pairs)));

    it("creates, reads, lists and deletes rules, each tenant seeing only its own", async () => {
      const [t1, t2] = [tenant(), tenant()];
      const device = randomUUID();
      const first = await harness.a.createRule(t1, above(device), "user-1");
      const second = await harness.a.createRule(
        t1,
        { kind: "offline", device_id: device, for_ms: 60_000, severity: "critical" },
        null,
      );
      expect(first).toMatchObject({ tenant_id: t1, created_by: "user-1", kind: "threshold", threshold: 30 });
      expect(await harness.b.getRule(t1, first.id)).toEqual(first);
      expect(await harness.b.getRule(t2, first.id)).toBeNull();
      expect((await harness.b.rulesForDevice(t1, device)).map((r) => r.id).sort()).toEqual(
        [first.id, second.id].sort(),
      );
      expect(await harness.b.rulesForDevice(t2, device)).toEqual([]);
      const one = await harness.b.listRules(t1, { limit: 1 });
      const two = await harness.b.listRules(t1, { limit: 1, cursor: one.next_cursor });
      expect([...one.items, ...two.items].map((r) => r.id).sort()).toEqual([first.id, second.id].sort());
      expect(two.next_cursor).toBeNull();
      expect(await harness.b.deleteRule(t2, first.id, now)).toBe(false);
      expect(await harness.b.deleteRule(t1, first.id, now)).toBe(true);
      expect(await harness.a.getRule(t1, first.id)).toBeNull();
      expect(await harness.a.deleteRule(t1, "not-an-id", now)).toBe(false);
    });

    it("raises a crossing held for for_ms once, ignores late points, and clears when the value is back", async () => {
      const t = tenant();
      const rule = await harness.a.createRule(t, above(randomUUID(), 30, 10_000), null);
      expect(await feed(harness.a, t, rule, [now, 31])).toEqual({ status: "done", raised: [], cleared: [] });
      const raised = await feed(harness.b, t, rule, [now + 10_000, 33]);
      expect(raised.status === "done" && raised.raised).toEqual([
        expect.objectContaining({ id: `${rule.id}.1`, state: "active", value: 33, raised_ms: now + 10_000 }),
      ]);
      // Still above, and a late point below: neither raises again nor clears.
      await feed(harness.a, t, rule, [now + 11_000, 35]);
      await feed(harness.a, t, rule, [now + 500, 10]);
      const active = await harness.b.listAlarms(t, { state: "active", limit: 10 });
      expect(active.items.map((alarm) => alarm.id)).toEqual([`${rule.id}.1`]);
      const cleared = await feed(harness.b, t, rule, [now + 12_000, 20]);
      expect(cleared.status === "done" && cleared.cleared).toEqual([
        expect.objectContaining({ id: `${rule.id}.1`, state: "cleared", cleared_ms: now + 12_000 }),
      ]);
      expect((await harness.a.listAlarms(t, { state: "active", limit: 10 })).items).toEqual([]);
      // A new crossing is a new alarm.
      await feed(harness.a, t, rule, [now + 13_000, 40], [now + 23_000, 41]);
      const all = await harness.a.listAlarms(t, { limit: 10 });
      expect(all.items.map((alarm) => [alarm.id, alarm.state])).toEqual([
        [`${rule.id}.2`, "active"],
        [`${rule.id}.1`, "cleared"],
      ]);
    });

    it("never opens two alarms for one rule when two instances judge crossing points at once", async () => {
      const t = tenant();
      const rule = await harness.a.createRule(t, above(randomUUID()), null);
      const results = await Promise.all([
        feed(harness.a, t, rule, [now + 1, 50]),
        feed(harness.b, t, rule, [now + 2, 51]),
        feed(harness.a, t, rule, [now + 3, 52]),
      ]);
      const raised = results.flatMap((result) => (result.status === "done" ? result.raised : []));
      expect(raised).toHaveLength(1);
      expect((await harness.b.listAlarms(t, { limit: 10 })).items).toHaveLength(1);
    });

    it("acknowledges: active becomes acknowledged (by whom, when), then cleared keeps the acknowledgement", async () => {
      const t = tenant();
      const rule = await harness.a.createRule(t, above(randomUUID()), null);
      await feed(harness.a, t, rule, [now, 99]);
      const id = `${rule.id}.1`;
      expect(await harness.b.acknowledge(tenant(), id, "user-x", now)).toBeNull();
      const acked = await harness.b.acknowledge(t, id, "user-1", now + 5);
      expect(acked).toMatchObject({
        state: "acknowledged",
        acknowledged_by: "user-1",
        acknowledged_ms: now + 5,
      });
      expect(await harness.a.acknowledge(t, id, "user-2", now + 6)).toMatchObject({
        acknowledged_by: "user-1",
      });
      await feed(harness.a, t, rule, [now + 10, 1]);
      expect(await harness.b.getAlarm(t, id)).toMatchObject({
        state: "cleared",
        acknowledged_by: "user-1",
        cleared_ms: now + 10,
      });
      expect((await harness.b.listAlarms(t, { state: "acknowledged", limit: 10 })).items).toEqual([]);
      expect((await harness.b.listAlarms(t, { state: "cleared", limit: 10 })).items.map((a) => a.id)).toEqual(
        [id],
      );
      expect(await harness.b.getAlarm(tenant(), id)).toBeNull();
      expect(await harness.b.ownership(t, id)).toBe("owned");
      expect(await harness.b.ownership(tenant(), id)).toBe("other_tenant");
      expect(await harness.b.ownership(tenant(), rule.id)).toBe("other_tenant");
      expect(await harness.b.ownership(t, `${rule.id}.9`)).toBe("missing");
      expect(await harness.b.ownership(t, "nonsense")).toBe("missing");
    });

    it("pages alarm history newest first with an opaque cursor", async () => {
      const t = tenant();
      const rule = await harness.a.createRule(t, above(randomUUID()), null);
      for (let i = 0; i < 5; i++) await feed(harness.a, t, rule, [now + i * 2, 99], [now + i * 2 + 1, 0]);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await harness.b.listAlarms(t, { limit: 2, cursor });
        seen.push(...page.items.map((alarm) => alarm.id));
        cursor = page.next_cursor;
      } while (cursor);
      expect(seen).toEqual([5, 4, 3, 2, 1].map((n) => `${rule.id}.${n}`));
    });

    it("counts a tenant's alarms by state without listing them, each tenant only its own", async () => {
      const t = tenant();
      expect(await harness.a.countAlarms(t, "active")).toBe(0);
      const rules = await Promise.all(
        [1, 2, 3].map(() => harness.a.createRule(t, above(randomUUID()), null)),
      );
      for (const rule of rules) await feed(harness.a, t, rule, [now, 99]);
      await harness.b.acknowledge(t, `${rules[0]!.id}.1`, "user-1", now + 1);
      await feed(harness.a, t, rules[1]!, [now + 2, 0]);
      expect(await harness.b.countAlarms(t, "active")).toBe(1);
      expect(await harness.b.countAlarms(t, "acknowledged")).toBe(1);
      expect(await harness.b.countAlarms(t, "cleared")).toBe(1);
      expect(await harness.b.countAlarms(tenant(), "active")).toBe(0);
    });

    it("deleting a rule clears its open alarm", async () => {
      const t = tenant();
      const rule = await harness.a.createRule(t, above(randomUUID()), null);
      await feed(harness.a, t, rule, [now, 99]);
      await harness.b.deleteRule(t, rule.id, now + 7);
      expect(await harness.a.getAlarm(t, `${rule.id}.1`)).toMatchObject({
        state: "cleared",
        cleared_ms: now + 7,
      });
    });

    it("refuses a sweep's transition once a newer fence is recorded, and lists offline rules of every tenant", async () => {
      const t = tenant();
      const device = randomUUID();
      const rule = await harness.a.createRule(
        t,
        { kind: "offline", device_id: device, for_ms: 1000, severity: "minor" },
        null,
      );
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await harness.b.offlineRules({ limit: 50, cursor });
        seen.push(...page.items.map((r) => r.id));
        cursor = page.next_cursor;
      } while (cursor);
      expect(seen).toContain(rule.id);
      const base = 1_000 + Math.floor(Math.random() * 1_000_000);
      expect(await harness.a.recordFence(fence(base))).toBe(true);
      expect(await harness.b.recordFence(fence(base + 1))).toBe(true);
      expect(await harness.a.recordFence(fence(base))).toBe(false);
      const stale = await harness.a.evaluate(t, rule.id, (r, s) => judgeQuiet(r, s, null, now + 5000), {
        fence: fence(base),
      });
      expect(stale).toEqual({ status: "fenced" });
      expect((await harness.a.listAlarms(t, { limit: 10 })).items).toEqual([]);
      const fresh = await harness.b.evaluate(t, rule.id, (r, s) => judgeQuiet(r, s, null, now + 5000), {
        fence: fence(base + 1),
      });
      expect(fresh.status === "done" && fresh.raised[0]).toMatchObject({
        kind: "offline",
        fence: fence(base + 1),
      });
      expect(await harness.a.evaluate(t, randomUUID(), () => null)).toEqual({ status: "missing" });
    });
  });
}
