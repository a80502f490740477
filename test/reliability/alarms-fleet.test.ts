// Exactly one evaluator across the fleet (issue 19, docs/design/alarms.md): three `firebrick serve`
// processes on one Firestore (emulator) project. Every crossing is written by all three at once (one
// crossing point each, as if a device's gateway fanned out, or retried through another instance), one
// instance is killed mid-way, and still every crossing yields exactly one alarm and every return within
// the threshold clears it: no duplicate, no transition lost. Every transition also reaches a real local
// webhook receiver at least once, signed, and no delivery id ever comes with two different payloads
// (docs/design/webhooks.md). Reduced in `npm test`, full in `npm run test:reliability`.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver } from "../../packages/server/src/webhooks/testing/receiver.js";
import { emulatorHost, uniqueProjectId } from "../firestore.js";
import { call, createDevices, killServers, type ServeProcess, scaled, startFleet } from "./support.js";

const TENANT = "demo";
const DEVICES = scaled(2, 5);
const CROSSINGS = scaled(4, 10);

const project = uniqueProjectId("alarm-fleet");
const env = (label: string): Record<string, string> => ({
  FIREBRICK_DATA_DIR: mkdtempSync(join(tmpdir(), `firebrick-alarm-fleet-${label}-`)),
  FIRESTORE_EMULATOR_HOST: emulatorHost(),
  GOOGLE_CLOUD_PROJECT: project,
  USE_FIRESTORE_TELEMETRY: "1",
  USE_FIRESTORE_AUDIT: "1",
  USE_FIRESTORE_AUTH: "1",
  DEVICE_WRITES_PER_MINUTE: "100000",
  // The webhook receiver listens on 127.0.0.1.
  FIREBRICK_WEBHOOK_ALLOW_PRIVATE: "1",
});

const fleet: ServeProcess[] = [];
let session = "";
let receiver: Awaited<ReturnType<typeof startReceiver>>;

afterAll(async () => {
  await killServers();
  await receiver?.close();
});

beforeAll(async () => {
  receiver = await startReceiver();
  const started = await startFleet(3, (i) => env(`instance-${i}`));
  fleet.push(...started.servers);
  session = started.session;
}, 180_000);

interface Alarm {
  id: string;
  rule_id: string;
  device_id: string;
  state: string;
  raised_ms: number;
  cleared_ms: number | null;
  value: number;
}

describe("alarms on a fleet of three instances on one Firestore project", () => {
  it("raises exactly one alarm per crossing and loses no transition, with an instance killed mid-way", async () => {
    const devices = await createDevices(fleet[0]!.url, { tenant: TENANT, session, count: DEVICES });
    const hook = await call(fleet[2]!.url, "POST", "/api/webhooks", {
      tenant: TENANT,
      session,
      body: { url: receiver.url("/fleet") },
    });
    expect(hook.status, JSON.stringify(hook.body)).toBe(201);
    receiver.secret("/fleet", (hook.body as { secret: string }).secret);
    for (const device of devices) {
      const created = await call(fleet[1]!.url, "POST", "/api/alarm-rules", {
        tenant: TENANT,
        session,
        body: {
          device_id: device.id,
          metric: "temp",
          op: ">",
          threshold: 50,
          for_ms: 0,
          severity: "critical",
        },
      });
      expect(created.status).toBe(201);
    }
    const dead = new Set<ServeProcess>();
    const live = () => fleet.filter((server) => !dead.has(server));
    /**
     * One write through `server`, or through another live instance when that one is gone (a load
     * balancer's retry): writes are idempotent (a point's identity is its timestamp), so a retry of a
     * point that was accepted before the instance died changes nothing.
     */
    const write = async (
      device: { id: string; token: string },
      server: ServeProcess,
      timestamp: number,
      temp: number,
    ) => {
      const candidates = [server, ...live().filter((other) => other !== server)];
      for (const target of candidates) {
        try {
          const reply = await call(target.url, "POST", `/api/devices/${device.id}/telemetry`, {
            tenant: TENANT,
            bearer: device.token,
            body: { points: [{ timestamp_ms: timestamp, metrics: { temp } }] },
            timeoutMs: 60_000,
          });
          expect(reply.status, JSON.stringify(reply.body)).toBe(202);
          return;
        } catch (error) {
          if (!dead.has(target)) throw error;
        }
      }
      throw new Error("no instance took the write");
    };
    const base = Date.now() - 3_600_000;
    const at = (crossing: number, offset: number) => base + crossing * 10_000 + offset;
    let killed = false;
    const started = Date.now();
    await Promise.all(
      devices.map(async (device, d) => {
        for (let crossing = 0; crossing < CROSSINGS; crossing++) {
          // Half-way, the third instance dies (SIGKILL), whatever it is doing.
          if (d === 0 && crossing === Math.floor(CROSSINGS / 2) && !killed) {
            killed = true;
            dead.add(fleet[2]!);
            fleet[2]!.child.kill("SIGKILL");
          }
          // Three crossing points at once, one through each instance (those alive).
          await Promise.all(fleet.map((server, i) => write(device, server, at(crossing, i + 1), 60 + i)));
          await write(device, fleet[crossing % 2]!, at(crossing, 5), 10);
        }
      }),
    );
    console.log(
      `${DEVICES} devices × ${CROSSINGS} crossings, each written through 3 instances at once: ${Date.now() - started} ms`,
    );
    expect(killed).toBe(true);

    const alarms: Alarm[] = [];
    let cursor: string | null = null;
    do {
      const page = await call(
        fleet[0]!.url,
        "GET",
        `/api/alarms?limit=200${cursor ? `&cursor=${cursor}` : ""}`,
        {
          tenant: TENANT,
          session,
        },
      );
      expect(page.status).toBe(200);
      const body = page.body as { alarms: Alarm[]; next_cursor: string | null };
      alarms.push(...body.alarms);
      cursor = body.next_cursor;
    } while (cursor);
    for (const device of devices) {
      const own = alarms
        .filter((alarm) => alarm.device_id === device.id)
        .sort((a, b) => a.raised_ms - b.raised_ms);
      // Exactly one alarm per crossing, raised by one of its crossing points and cleared by its return.
      expect(own).toHaveLength(CROSSINGS);
      own.forEach((alarm, crossing) => {
        expect(alarm.state).toBe("cleared");
        expect(alarm.raised_ms).toBeGreaterThanOrEqual(at(crossing, 1));
        expect(alarm.raised_ms).toBeLessThanOrEqual(at(crossing, 3));
        expect(alarm.cleared_ms).toBe(at(crossing, 5));
      });
    }
    // Every transition reaches the receiver at least once (the killed instance may have held the
    // dispatcher's lock: its lease runs out first), signed; an id never comes with two payloads.
    const expected = new Set(
      alarms.flatMap((alarm) => [`${alarm.id} alarm.raised`, `${alarm.id} alarm.cleared`]),
    );
    const heard = () =>
      new Set(
        receiver.received.map((entry) => {
          const body = JSON.parse(entry.body) as { event: string; alarm: { id: string } };
          return `${body.alarm.id} ${body.event}`;
        }),
      );
    const deadline = Date.now() + 120_000;
    while ([...expected].some((transition) => !heard().has(transition))) {
      if (Date.now() > deadline) {
        const missing = [...expected].filter((transition) => !heard().has(transition));
        throw new Error(`transitions never delivered: ${missing.slice(0, 5).join(", ")} (${missing.length})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(receiver.received.every((entry) => entry.signed)).toBe(true);
    const bodies = receiver.bodiesById();
    expect(bodies.size).toBe(expected.size);
    expect([...bodies.values()].every((distinct) => distinct.size === 1)).toBe(true);
    console.log(
      `webhook: ${expected.size} transitions, ${receiver.received.length} POSTs received (duplicates are at-least-once retries)`,
    );

    // Every instance still alive answers the same: nothing open.
    for (const server of live()) {
      const open = await call(server.url, "GET", "/api/alarms?state=active", { tenant: TENANT, session });
      expect((open.body as { alarms: Alarm[] }).alarms).toEqual([]);
    }
  }, 300_000);
});
