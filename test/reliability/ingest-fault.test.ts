// Load + fault (docs/design/targets.md): simulated devices keep posting telemetry through a real port while
// the Firestore emulator under the service is killed (SIGKILL) and restarted on the same port.
//
// What "every acknowledged point is in the store afterwards" means here: the emulator keeps its data in
// memory only, so a kill wipes it (Firestore itself is durable; the emulator's --export-on-exit does not
// run on a kill, and did not export on SIGTERM either when tried). So the test counts acknowledged (202)
// points per emulator lifetime:
// - before the kill: every point acknowledged before a check that reads the store just before the kill
//   is in it; the few acknowledged between that read and the kill are counted and reported;
// - after the restart: every point acknowledged from the moment the new emulator answered is in the store
//   at the end. While it is down, every write is answered 503 UNAVAILABLE within the client's timeout.
//
// The service is `startServer` as `firebrick serve` runs it (a real port, telemetry on Firestore behind
// the store resilience of runtime/open-stores.ts, group commits included); only Argon2id is cheap.
import type { Firestore } from "@google-cloud/firestore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  freePort,
  type RunningEmulator,
  startFirestoreEmulator,
} from "../../packages/server/src/firestore/emulator.js";
import { startTestServer, type TestServer } from "../../packages/server/src/testing/server.js";
import { emulatorClient, emulatorLocation, uniqueProjectId } from "../firestore.js";
import { call, createDevices, scaled, until } from "./support.js";

const TENANT = "demo";
const DEVICES = scaled(8, 40);
const POINTS_PER_WRITE = 5;
/** Acknowledged writes per device in each steady phase (before the kill, after the restart). */
const STEADY_WRITES = scaled(4, 40);
const CLIENT_TIMEOUT_MS = 15_000;

interface Ack {
  device: string;
  timestamps: number[];
  answeredAt: number;
}

let emulator: RunningEmulator;
let port: number;
let projectId: string;
let service: TestServer;
let db: Firestore;

beforeAll(async () => {
  port = await freePort();
  emulator = await startFirestoreEmulator({ location: emulatorLocation(), port });
  projectId = uniqueProjectId("ingest-fault");
  service = await startTestServer({
    FIRESTORE_EMULATOR_HOST: `127.0.0.1:${port}`,
    GOOGLE_CLOUD_PROJECT: projectId,
    USE_FIRESTORE_TELEMETRY: "1",
    DEVICE_WRITES_PER_MINUTE: "100000",
  });
  db = emulatorClient(projectId, `127.0.0.1:${port}`);
}, 60_000);
afterAll(async () => {
  await service?.close();
  await db?.terminate();
  await emulator?.stop();
});

/** The timestamps the store holds for each device, in one query so that the check before the kill is short. */
async function stored(since = 0): Promise<Map<string, Set<number>>> {
  const found = new Map<string, Set<number>>();
  const snapshot = await db
    .collection("telemetry")
    .where("tenant_id", "==", TENANT)
    .where("timestamp_ms", ">=", since)
    .select("device_id", "timestamp_ms")
    .get();
  for (const doc of snapshot.docs) {
    const device = doc.get("device_id") as string;
    if (!found.has(device)) found.set(device, new Set());
    found.get(device)!.add(doc.get("timestamp_ms") as number);
  }
  return found;
}

function missing(acks: Ack[], store: Map<string, Set<number>>): number {
  let count = 0;
  for (const ack of acks) {
    for (const timestamp of ack.timestamps) if (!store.get(ack.device)?.has(timestamp)) count += 1;
  }
  return count;
}

describe("ingest while the Firestore emulator is killed and restarted", () => {
  it("answers 503 while it is down, never hangs, recovers by itself, and keeps every acknowledged point", async () => {
    const login = await call(service.url, "POST", "/api/auth/login", {
      tenant: TENANT,
      body: { username: "admin", password: service.adminPassword },
    });
    expect(login.status).toBe(200);
    const devices = await createDevices(service.url, {
      tenant: TENANT,
      session: login.session!,
      count: DEVICES,
    });

    const acks: Ack[] = [];
    const statuses = new Map<number, number>();
    const outageCodes = new Set<string>();
    const hangs: string[] = [];
    let killedAt = Number.POSITIVE_INFINITY;
    let restartedAt = Number.POSITIVE_INFINITY;
    let stop = false;
    // Devices pause this long between writes while the store is checked before the kill, so that the
    // checks catch up with the writes; they still write, and writes are in flight when the kill comes.
    let paceMs = 0;
    const base = Date.now() - 30 * 60_000;

    async function device(index: number) {
      const { id, token } = devices[index]!;
      for (let sequence = 0; !stop; sequence++) {
        const timestamps = Array.from(
          { length: POINTS_PER_WRITE },
          (_, j) => base + (sequence * POINTS_PER_WRITE + j) * 10,
        );
        try {
          const reply = await call(service.url, "POST", `/api/devices/${id}/telemetry`, {
            tenant: TENANT,
            bearer: token,
            body: { points: timestamps.map((t) => ({ timestamp_ms: t, metrics: { zone_temp_c: 21.5 } })) },
            timeoutMs: CLIENT_TIMEOUT_MS,
          });
          const answeredAt = Date.now();
          statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
          if (reply.status === 202) acks.push({ device: id, timestamps, answeredAt });
          else if (answeredAt > killedAt && answeredAt < restartedAt) {
            outageCodes.add((reply.body as { error: { code: string } }).error.code);
          }
          const pause = reply.status === 202 ? paceMs : 100;
          if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
        } catch (error) {
          hangs.push(String(error));
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    }
    const ingest = Promise.all(devices.map((_, index) => device(index)));
    const acksAfter = (t: number) => acks.filter((ack) => ack.answeredAt >= t).length;

    const before: Ack[] = [];
    let lostBeforeKill = 0;
    let unverifiable = 0;
    try {
      // Lifetime 1: steady ingest until enough points are acknowledged (a count, not a time: on a busy
      // machine the first writes take seconds), then checks of the store, then the kill right after them.
      await until(
        () => acks.length >= DEVICES * STEADY_WRITES,
        "acknowledged writes before the kill",
        120_000,
      );
      // A full check, then shorter ones of only the points acknowledged during the previous check (devices
      // now paced), until one check's worth is about one write per device: few acks fall after the last.
      let checkedAt = 0;
      paceMs = 250;
      for (let pass = 0; pass < 10; pass++) {
        const from = checkedAt;
        checkedAt = Date.now();
        const batch = acks.filter((ack) => ack.answeredAt >= from && ack.answeredAt < checkedAt);
        if (batch.length === 0) continue;
        const since = pass === 0 ? 0 : Math.min(...batch.flatMap((ack) => ack.timestamps));
        lostBeforeKill += missing(batch, await stored(since));
        before.push(...batch);
        if (pass > 0 && batch.length <= DEVICES) break;
      }
      killedAt = Date.now();
      emulator.process.kill("SIGKILL");
      await new Promise((resolve) => emulator.process.once("exit", resolve));
      unverifiable = acks.filter((ack) => ack.answeredAt >= checkedAt).length;

      // Down: give every device time to be refused, then bring the emulator back on the same port.
      const refusedBefore = statuses.get(503) ?? 0;
      await until(
        () => (statuses.get(503) ?? 0) >= refusedBefore + DEVICES,
        "503s while the emulator is down",
      );
      emulator = await startFirestoreEmulator({ location: emulatorLocation(), port });
      restartedAt = Date.now();
      paceMs = 0;

      // Lifetime 2: the service recovers without being restarted, then ingests steadily again.
      await until(
        () => acksAfter(restartedAt) >= DEVICES * STEADY_WRITES,
        "acknowledged writes after the restart",
        120_000,
      );
    } finally {
      stop = true;
      await ingest;
    }
    const after = acks.filter((ack) => ack.answeredAt >= restartedAt);
    const lostAfterRestart = missing(after, await stored());

    const pointsOf = (list: Ack[]) => list.length * POINTS_PER_WRITE;
    console.log(
      "ingest fault:",
      JSON.stringify({
        devices: DEVICES,
        statuses: Object.fromEntries(statuses),
        ackedPointsBeforeKill: pointsOf(before),
        lostBeforeKill,
        ackedBetweenCheckAndKill: unverifiable * POINTS_PER_WRITE,
        ackedPointsAfterRestart: pointsOf(after),
        lostAfterRestart,
        outageCodes: [...outageCodes],
        hangs: hangs.length,
        downMs: restartedAt - killedAt,
      }),
    );
    expect(hangs).toEqual([]);
    expect([...statuses.keys()].sort()).toEqual([202, 503]);
    expect([...outageCodes]).toEqual(["UNAVAILABLE"]);
    expect(pointsOf(before)).toBeGreaterThan(0);
    expect(lostBeforeKill).toBe(0);
    expect(pointsOf(after)).toBeGreaterThan(0);
    expect(lostAfterRestart).toBe(0);
  }, 240_000);
});
