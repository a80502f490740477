import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS, startTestService, type TestService } from "../testing/service.js";
import { dispatchDue, startWebhookDispatcher } from "./dispatcher.js";
import { httpSender } from "./sender.js";
import { startReceiver } from "./testing/receiver.js";

/** Polls until `check` gives a value, or fails after `timeoutMs`. */
async function eventually<T>(
  check: () => Promise<T | null | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("the condition was not met in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.each(BACKENDS)("alarm transitions reach a real receiver, signed, at least once (%s)", (backend) => {
  let service: TestService;
  let admin: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    service = await startTestService(backend, { deviceWritesPerMinute: 100_000 });
    admin = await service.login("t1", "admin");
    receiver = await startReceiver();
  }, 60_000);
  afterAll(async () => {
    await receiver?.close();
    await service?.close();
  });

  const call = (method: "GET" | "POST", url: string, payload?: unknown) =>
    service.request({ method, url, tenant: "t1", session: admin, ...(payload !== undefined && { payload }) });
  const register = async (path: string, failFirst = 0) => {
    const response = await call("POST", "/api/webhooks", { url: receiver.url(path) });
    expect(response.statusCode, response.body).toBe(201);
    const { webhook, secret } = response.json();
    receiver.secret(path, secret, { failFirst });
    return webhook.id as string;
  };
  const newDevice = async () => (await call("POST", "/api/devices", { name: `dev-${Math.random()}` })).json();
  const write = (device: { device: { id: string }; token: string }, value: number) => {
    service.clock.advance(1000);
    return service.request({
      method: "POST",
      url: `/api/devices/${device.device.id}/telemetry`,
      tenant: "t1",
      headers: { authorization: `Bearer ${device.token}` },
      payload: { points: [{ timestamp_ms: service.clock.now, metrics: { temp: value } }] },
    });
  };
  const dispatch = () =>
    dispatchDue({
      webhooks: service.webhooks,
      send: httpSender({ allowPrivate: true, timeoutMs: 5_000 }),
      fence: null,
      clock: service.clock.read,
    });

  it("a raised and a cleared alarm arrive signed; a receiver failing twice gets the same delivery on the third attempt", async () => {
    const steady = await register("/steady");
    const flaky = await register("/flaky", 2);
    const device = await newDevice();
    const rule = await call("POST", "/api/alarm-rules", {
      device_id: device.device.id,
      metric: "temp",
      op: ">",
      threshold: 30,
      for_ms: 0,
      severity: "major",
    });
    expect(rule.statusCode, rule.body).toBe(201);
    expect((await write(device, 40)).statusCode).toBe(202);
    expect((await write(device, 20)).statusCode).toBe(202);

    await dispatch();
    const steadyEvents = receiver.received
      .filter((entry) => entry.path === "/steady")
      .map((entry) => JSON.parse(entry.body));
    expect(steadyEvents.map((body) => body.event)).toEqual(["alarm.raised", "alarm.cleared"]);
    expect(receiver.received.every((entry) => entry.signed)).toBe(true);
    for (const entry of receiver.received) expect(JSON.parse(entry.body).id).toBe(entry.id);
    expect(steadyEvents[0]).toMatchObject({
      tenant: "t1",
      alarm: { rule_id: rule.json().rule.id, state: "active", value: 40 },
    });
    expect(steadyEvents[1]).toMatchObject({ alarm: { state: "cleared" } });

    // The flaky receiver answered 500 to both: each is retried later with backoff, not at once.
    const firstTry = await call("GET", `/api/webhooks/${flaky}/deliveries`);
    expect(firstTry.json().attempts).toHaveLength(2);
    for (const attempt of firstTry.json().attempts) {
      expect(attempt).toMatchObject({ attempt: 1, status_code: 500, state: "pending" });
      expect(attempt.next_attempt_ms - attempt.at_ms).toBeGreaterThanOrEqual(5_000);
    }
    expect((await dispatch()).recorded).toBe(0);
    service.clock.advance(60_000);
    await dispatch();
    service.clock.advance(60_000);
    await dispatch();

    const flakyIds = receiver.received.filter((entry) => entry.path === "/flaky");
    expect(flakyIds.map((entry) => entry.status)).toEqual([500, 500, 500, 500, 204, 204]);
    // Three attempts for each transition, with the same id and the very same bytes.
    const bodies = receiver.bodiesById();
    for (const entry of flakyIds) expect(bodies.get(entry.id)?.size).toBe(1);
    expect(new Set(flakyIds.map((entry) => entry.id)).size).toBe(2);
    const log = (await call("GET", `/api/webhooks/${flaky}/deliveries?limit=3`)).json();
    expect(
      log.attempts.map((attempt: { attempt: number; status_code: number; state: string }) => [
        attempt.attempt,
        attempt.status_code,
        attempt.state,
      ]),
    ).toEqual([
      [3, 204, "delivered"],
      [3, 204, "delivered"],
      [2, 500, "pending"],
    ]);
    expect(log.next_cursor).not.toBeNull();
    const rest = (
      await call("GET", `/api/webhooks/${flaky}/deliveries?limit=10&cursor=${log.next_cursor}`)
    ).json();
    expect(rest.attempts).toHaveLength(3);
    expect((await call("GET", `/api/webhooks/${steady}/deliveries`)).json().attempts).toHaveLength(2);
  }, 60_000);

  it("the running dispatcher sends a transition within seconds of being woken", async () => {
    await register("/woken");
    const dispatcher = startWebhookDispatcher({
      webhooks: service.webhooks,
      send: httpSender({ allowPrivate: true, timeoutMs: 5_000 }),
      clock: service.clock.read,
      runExclusive: (task) => task({ fence: null }),
      tickMs: 100,
    });
    try {
      const device = await newDevice();
      await call("POST", "/api/alarm-rules", {
        device_id: device.device.id,
        metric: "temp",
        op: "<",
        threshold: 0,
        for_ms: 0,
        severity: "critical",
      });
      await write(device, -5);
      dispatcher.wake();
      const arrived = await eventually(async () =>
        receiver.received.find(
          (entry) => entry.path === "/woken" && JSON.parse(entry.body).event === "alarm.raised",
        ),
      );
      expect(arrived.signed).toBe(true);
    } finally {
      await dispatcher.stop();
    }
  }, 60_000);
});
