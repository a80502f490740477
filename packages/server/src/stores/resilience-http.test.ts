import type { Firestore } from "@google-cloud/firestore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emulatorClient, emulatorLocation, uniqueProjectId } from "../../../../test/firestore.js";
import { type RunningEmulator, startFirestoreEmulator } from "../firestore/emulator.js";
import { startTestService, type TestService } from "../testing/service.js";
import { createFirestoreStores } from "./index.js";
import { firestoreCallSettings, withResilience } from "./resilience.js";

describe("the API while its own Firestore emulator is stopped and restarted", () => {
  let emulator: RunningEmulator;
  let db: Firestore;
  let service: TestService;
  /** The breakers' clock, moved by hand past their wait. */
  let now = Date.now();
  let session = "";
  let stores: ReturnType<typeof withResilience<ReturnType<typeof createFirestoreStores>>>;

  beforeAll(async () => {
    emulator = await startFirestoreEmulator({ location: emulatorLocation() });
    db = emulatorClient(
      uniqueProjectId("outage"),
      emulator.hostPort,
      firestoreCallSettings({ timeoutMs: 5_000 }),
    );
    await db.collection("warm-up").limit(1).get();
    service = await startTestService("firestore", {
      firestoreStores: (options) => {
        stores = withResilience(createFirestoreStores(db, options), {
          backend: "firestore",
          attemptTimeoutMs: 5_000,
          maxRetries: 1,
          failureThreshold: 2,
          openMs: 30_000,
          clock: () => now,
          sleep: async () => {},
        });
        return stores;
      },
    });
    session = await service.login("t1", "admin");
  }, 90_000);

  afterAll(async () => {
    await service?.close();
    await stores?.resilience.drain();
    await db?.terminate();
    await emulator?.stop();
  }, 90_000);

  const readTelemetry = () =>
    service.request({
      method: "GET",
      url: `/api/devices/${service.t1.device.id}/telemetry?limit=100`,
      tenant: "t1",
      session,
    });

  it("serves while Firestore answers", async () => {
    expect((await readTelemetry()).statusCode).toBe(200);
  });

  it("answers 503 UNAVAILABLE, not a hang, once Firestore is gone, then fails fast with the breaker open", async () => {
    await emulator.stop();
    const first = await readTelemetry();
    expect(first.statusCode).toBe(503);
    expect(first.json().error.code).toBe("UNAVAILABLE");
    expect(stores.resilience.breakerState("sessions.find")).toBe("open");

    const second = await readTelemetry();
    expect(second.statusCode).toBe(503);
    expect(second.json().error).toMatchObject({
      code: "UNAVAILABLE",
      request_id: second.headers["x-request-id"],
    });
  }, 60_000);

  it("tells clients when to retry: Retry-After is the open breaker's remaining wait", async () => {
    now += 12_000; // the breakers opened 12 s ago (test clock): 18 s of their 30 s remain
    const refused = await readTelemetry();
    expect(refused.statusCode).toBe(503);
    expect(refused.headers["retry-after"]).toBe("18");
  });

  it("answers again once Firestore is back on the same port", async () => {
    emulator = await startFirestoreEmulator({
      location: emulatorLocation(),
      port: Number(emulator.hostPort.split(":")[1]),
    });
    let status = 503;
    const giveUpAt = Date.now() + 90_000;
    while (status === 503 && Date.now() < giveUpAt) {
      now += 30_000; // past the breaker's wait: the next call is its probe
      status = (await readTelemetry()).statusCode;
      if (status === 503) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    // The restarted emulator kept no data: the session is gone, which the API now says with a 401.
    expect(status).toBe(401);
    expect(stores.resilience.breakerState("sessions.find")).toBe("closed");
  }, 120_000);
});
