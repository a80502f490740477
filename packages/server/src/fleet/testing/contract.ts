import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Flags } from "../../stores/routing/flags.js";
import { AUDIT_RETENTION_MS, type Clock } from "../../stores/types.js";
import type { FleetChange, FleetState, SavedFlags } from "../types.js";

/**
 * Two views of one service-wide state, as two instances (or processes) have them: `a` and `b` share
 * the same database (the same SQLite file through two connections, the same Firestore project).
 */
export interface FleetHarness {
  a: FleetState;
  b: FleetState;
  close(): Promise<void>;
}

export type MakeFleet = (clock: Clock) => Promise<FleetHarness>;

const OFF: Flags = { telemetry: false, audit: false, auth: false, telemetry_dual_write: false };

/** Polls `condition` until it holds (watch deliveries are asynchronous), failing after `timeoutMs`. */
async function eventually(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("the condition did not hold in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The contract of `FleetState` (fleet/types.ts), run against both implementations, as the stores'
 * contract suite is (`stores/testing/contract.ts`).
 */
export function describeFleetContract(name: string, makeFleet: MakeFleet): void {
  describe(name, () => {
    const now = Date.UTC(2026, 10, 1);
    let harness: FleetHarness;
    beforeAll(async () => {
      harness = await makeFleet(() => now);
    });
    afterAll(() => harness?.close());

    it("saves the flags once: the first initialization wins, later ones adopt it", async () => {
      const { a, b } = harness;
      expect(await a.flags.load()).toBeNull();
      const first = await a.flags.initialize({ ...OFF, audit: true }, "instance-a", now);
      expect(first).toMatchObject({ created: true, by: "instance-a", flags: { audit: true, auth: false } });
      const second = await b.flags.initialize(OFF, "instance-b", now + 1);
      expect(second).toMatchObject({ created: false, by: "instance-a", flags: { audit: true } });
      expect((await b.flags.load())?.flags).toEqual({ ...OFF, audit: true });
    });

    it("updates the flags atomically: concurrent changes of two instances are both kept, with who made the last", async () => {
      const { a, b } = harness;
      const results = await Promise.all([
        a.flags.update(OFF, (current) => ({ ...current, telemetry: true }), "cli:alice", now),
        b.flags.update(OFF, (current) => ({ ...current, auth: true }), "cli:bob", now),
      ]);
      const saved = (await a.flags.load())!;
      expect(saved.flags).toMatchObject({ telemetry: true, auth: true, audit: true });
      expect(["cli:alice", "cli:bob"]).toContain(saved.by);
      // Whichever went second saw the other's change as its `before`.
      expect(results.some(({ before }) => before.telemetry || before.auth)).toBe(true);
      for (const { after } of results) expect(after.audit).toBe(true);
    });

    it("writes records by compare-and-set: a stale or absent version writes nothing", async () => {
      const { a, b } = harness;
      const id = `rec-${Math.random().toString(36).slice(2)}`;
      expect(await a.records.read(id)).toBeNull();
      const v1 = await a.records.write(id, "test", { level: 1 }, null, now + 60_000);
      expect(v1).toEqual(expect.any(String));
      expect(await b.records.write(id, "test", { level: 9 }, null, now + 60_000)).toBeNull();
      const read = await b.records.read(id);
      expect(read).toEqual({ value: { level: 1 }, version: v1 });
      const v2 = await b.records.write(id, "test", { level: 2, at: now }, v1, now + 60_000);
      expect(v2).toEqual(expect.any(String));
      expect(v2).not.toBe(v1);
      expect(await a.records.write(id, "test", { level: 3 }, v1!, now + 60_000)).toBeNull();
      expect((await a.records.read(id))?.value).toEqual({ level: 2, at: now });
      await a.records.delete(id);
      expect(await b.records.read(id)).toBeNull();
      expect(await b.records.write(id, "test", { level: 1 }, v2!, now + 60_000)).toBeNull();
    });

    it("keeps a platform audit log, newest first, paged by cursor, retention filtered", async () => {
      const { a, b } = harness;
      const base = now;
      await a.platformAudit.append({
        action: "old.action",
        actor: "cli:root@host",
        timestamp_ms: base - AUDIT_RETENTION_MS - 1000,
        outcome: "success",
      });
      for (let i = 0; i < 3; i++) {
        await (i % 2 ? a : b).platformAudit.append({
          action: "flags.update",
          actor: `cli:op${i}@host`,
          timestamp_ms: base + i,
          outcome: "success",
          target: "flags",
          details: { i, nested: { ok: true } },
        });
      }
      const first = await a.platformAudit.list({ limit: 2 });
      expect(first.items.map((e) => e.details.i)).toEqual([2, 1]);
      expect(first.items[0]).toMatchObject({
        id: expect.any(String),
        action: "flags.update",
        actor: "cli:op2@host",
        timestamp_ms: base + 2,
        outcome: "success",
        target: "flags",
        details: { i: 2, nested: { ok: true } },
      });
      expect(first.next_cursor).toEqual(expect.any(String));
      const second = await b.platformAudit.list({ limit: 2, cursor: first.next_cursor });
      expect(second.items.map((e) => e.details.i)).toEqual([0]);
      expect(second.next_cursor).toBeNull();
    });

    it("delivers flag changes and published changes to a watching instance, its own included", async () => {
      const { a, b } = harness;
      const heard: { flags: SavedFlags[]; changes: FleetChange[]; health: boolean[] } = {
        flags: [],
        changes: [],
        health: [],
      };
      const watch = a.watch({
        flags: (saved) => heard.flags.push(saved),
        change: (change) => heard.changes.push(change),
        health: (healthy) => heard.health.push(healthy),
        error: () => {},
      });
      try {
        await eventually(() => heard.health.at(-1) === true);
        await b.flags.update(
          OFF,
          (current) => ({ ...current, telemetry_dual_write: true }),
          "cli:carol",
          now,
        );
        await eventually(() => heard.flags.some((saved) => saved.flags.telemetry_dual_write === true));
        expect(heard.flags.at(-1)?.by).toBe("cli:carol");
        await b.changes.publish({ kind: "device", tenant_id: "t1", subject: "device-from-b" });
        await a.changes.publish({ kind: "device", tenant_id: "t2", subject: "device-from-a" });
        await eventually(() => heard.changes.length >= 2);
        expect(heard.changes).toEqual(
          expect.arrayContaining([
            { kind: "device", tenant_id: "t1", subject: "device-from-b" },
            { kind: "device", tenant_id: "t2", subject: "device-from-a" },
          ]),
        );
      } finally {
        await watch.stop();
      }
      const count = heard.changes.length;
      await b.changes.publish({ kind: "device", tenant_id: "t1", subject: "after-stop" });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(heard.changes).toHaveLength(count);
    });
  });
}
