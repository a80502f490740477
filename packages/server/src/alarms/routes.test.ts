import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS, startTestService, type TestService } from "../testing/service.js";
import { sweepOffline } from "./evaluator.js";

describe.each(BACKENDS)("alarm rules and alarms over HTTP (%s)", (backend) => {
  let service: TestService;
  let admin: string;
  let operator: string;
  let viewer: string;
  let otherAdmin: string;
  beforeAll(async () => {
    service = await startTestService(backend, { deviceWritesPerMinute: 100_000 });
    [admin, operator, viewer, otherAdmin] = [
      await service.login("t1", "admin"),
      await service.login("t1", "operator"),
      await service.login("t1", "viewer"),
      await service.login("t2", "admin"),
    ];
  }, 60_000);
  afterAll(() => service?.close());

  const call: TestService["call"] = (...args) => service.call(...args);
  const write = (
    deviceId: string,
    token: string,
    points: { timestamp_ms: number; metrics: Record<string, number> }[],
  ) =>
    service.request({
      method: "POST",
      url: `/api/devices/${deviceId}/telemetry`,
      tenant: "t1",
      headers: { authorization: `Bearer ${token}` },
      payload: { points },
    });
  const newDevice = async () => {
    const response = await call("POST", "/api/devices", admin, { name: `dev-${Math.random()}` });
    return response.json() as { device: { id: string }; token: string };
  };
  const alarms = async (query = "") => {
    const response = await call("GET", `/api/alarms${query}`, viewer);
    expect(response.statusCode, response.body).toBe(200);
    return response.json() as { alarms: Record<string, unknown>[]; next_cursor: string | null };
  };

  it("an admin creates a threshold rule (audited); other roles read it but cannot create or delete", async () => {
    const device = service.t1.device.id;
    const created = await call("POST", "/api/alarm-rules", admin, {
      device_id: device,
      metric: "temp",
      op: ">",
      threshold: 30,
      for_ms: 0,
      severity: "critical",
    });
    expect(created.statusCode, created.body).toBe(201);
    const { rule } = created.json();
    expect(rule).toMatchObject({
      device_id: device,
      kind: "threshold",
      metric: "temp",
      op: ">",
      threshold: 30,
    });
    expect(rule.tenant_id).toBeUndefined();
    expect(
      (await call("GET", "/api/alarm-rules", viewer)).json().rules.map((r: { id: string }) => r.id),
    ).toContain(rule.id);
    const refused = await call("POST", "/api/alarm-rules", operator, {
      device_id: device,
      kind: "offline",
      for_ms: 1,
      severity: "minor",
    });
    expect(refused.json().error.code).toBe("FORBIDDEN");
    expect((await call("DELETE", `/api/alarm-rules/${rule.id}`, viewer)).json().error.code).toBe("FORBIDDEN");
    const audit = await call("GET", "/api/audit?action=alarm_rule.create", admin);
    expect(audit.json().entries[0]).toMatchObject({
      action: "alarm_rule.create",
      target: `alarm_rule:${rule.id}`,
    });
    expect((await call("DELETE", `/api/alarm-rules/${rule.id}`, admin)).json()).toEqual({ deleted: true });
  });

  it("refuses malformed rules with VALIDATION_FAILED, another tenant's device with 403, an unknown one with 404", async () => {
    const device = service.t1.device.id;
    const bad = [
      { device_id: device, metric: "temp", op: ">", for_ms: 0, severity: "major" },
      { device_id: device, metric: "temp", op: "outside", min: 5, max: 1, for_ms: 0, severity: "major" },
      { device_id: device, metric: "temp", op: ">", threshold: 1, min: 0, for_ms: 0, severity: "major" },
      { device_id: device, kind: "offline", metric: "temp", for_ms: 0, severity: "major" },
      { device_id: device, kind: "offline", for_ms: 60_000, severity: "major" },
      { device_id: device, metric: "__bad__", op: ">", threshold: 1, for_ms: 0, severity: "major" },
      { device_id: device, metric: "temp", op: ">", threshold: 1, for_ms: -1, severity: "major" },
      { device_id: device, metric: "temp", op: ">", threshold: 1, for_ms: 0, severity: "urgent" },
      { device_id: "nope", metric: "temp", op: ">", threshold: 1, for_ms: 0, severity: "major" },
    ];
    for (const payload of bad) {
      const response = await call("POST", "/api/alarm-rules", admin, payload);
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(response.json().error.code).toBe("VALIDATION_FAILED");
    }
    const foreign = await call("POST", "/api/alarm-rules", admin, {
      device_id: service.t2.device.id,
      kind: "offline",
      for_ms: 600_000,
      severity: "minor",
    });
    expect(foreign.json().error.code).toBe("TENANT_MISMATCH");
    const unknown = await call("POST", "/api/alarm-rules", admin, {
      device_id: "0b7e7a5c-7a0e-4f3e-9a55-3a1d2b7c9d10",
      kind: "offline",
      for_ms: 600_000,
      severity: "minor",
    });
    expect(unknown.json().error.code).toBe("NOT_FOUND");
  });

  it("a crossing held for for_ms raises one alarm visible at once; an operator acknowledges it (audited); back in range clears it", async () => {
    const { device, token } = await newDevice();
    const rule = (
      await call("POST", "/api/alarm-rules", admin, {
        device_id: device.id,
        metric: "supply_temp",
        op: "outside",
        min: 10,
        max: 30,
        for_ms: 60_000,
        severity: "major",
      })
    ).json().rule;
    const t = service.clock.now - 10 * 60_000;
    expect(
      (await write(device.id, token, [{ timestamp_ms: t, metrics: { supply_temp: 35 } }])).statusCode,
    ).toBe(202);
    expect((await alarms("?state=active")).alarms.filter((a) => a.rule_id === rule.id)).toEqual([]);
    await write(device.id, token, [{ timestamp_ms: t + 30_000, metrics: { supply_temp: 36 } }]);
    await write(device.id, token, [{ timestamp_ms: t + 60_000, metrics: { supply_temp: 37 } }]);
    await write(device.id, token, [{ timestamp_ms: t + 90_000, metrics: { supply_temp: 38 } }]);
    const active = (await alarms("?state=active")).alarms.filter((a) => a.rule_id === rule.id);
    expect(active).toEqual([
      expect.objectContaining({
        state: "active",
        severity: "major",
        value: 37,
        raised_ms: t + 60_000,
        device_id: device.id,
      }),
    ]);
    const id = active[0]!.id as string;
    expect((await call("POST", `/api/alarms/${id}/ack`, viewer)).json().error.code).toBe("FORBIDDEN");
    expect((await call("POST", `/api/alarms/${id}/ack`, otherAdmin, undefined, "t2")).json().error.code).toBe(
      "TENANT_MISMATCH",
    );
    const acked = await call("POST", `/api/alarms/${id}/ack`, operator);
    expect(acked.statusCode, acked.body).toBe(200);
    expect(acked.json().alarm).toMatchObject({
      state: "acknowledged",
      acknowledged_by: service.t1.users.operator.id,
      acknowledged_ms: service.clock.now,
    });
    const audit = await call("GET", "/api/audit?action=alarm.acknowledge", admin);
    expect(audit.json().entries[0]).toMatchObject({
      target: `alarm:${id}`,
      user_id: service.t1.users.operator.id,
    });
    await write(device.id, token, [{ timestamp_ms: t + 120_000, metrics: { supply_temp: 20 } }]);
    const cleared = (await alarms("?state=cleared")).alarms.find((a) => a.id === id);
    expect(cleared).toMatchObject({
      state: "cleared",
      cleared_ms: t + 120_000,
      acknowledged_by: service.t1.users.operator.id,
    });
    expect((await call("GET", `/api/alarms?state=bogus`, viewer)).json().error.code).toBe(
      "VALIDATION_FAILED",
    );
    expect((await call("GET", `/api/alarms?cursor=bogus`, viewer)).json().error.code).toBe(
      "VALIDATION_FAILED",
    );
    expect((await call("POST", `/api/alarms/${rule.id}.77/ack`, operator)).json().error.code).toBe(
      "NOT_FOUND",
    );
    expect((await call("POST", `/api/alarms/nonsense/ack`, operator)).json().error.code).toBe(
      "VALIDATION_FAILED",
    );
  });

  it("lists one device's rules with ?device_id=, another tenant's device being a 403", async () => {
    const { device } = await newDevice();
    const { device: other } = await newDevice();
    const rule = { metric: "temp", op: "<", threshold: 5, for_ms: 0, severity: "warning" };
    const mine = (await call("POST", "/api/alarm-rules", admin, { device_id: device.id, ...rule })).json()
      .rule;
    await call("POST", "/api/alarm-rules", admin, { device_id: other.id, ...rule });
    const listed = await call("GET", `/api/alarm-rules?device_id=${device.id}`, viewer);
    expect(listed.json()).toEqual({ rules: [expect.objectContaining({ id: mine.id })], next_cursor: null });
    const foreign = await call("GET", `/api/alarm-rules?device_id=${device.id}`, otherAdmin, undefined, "t2");
    expect(foreign.statusCode).toBe(403);
  });

  it("counts the alarms of one state for every role (active by default), as the badge shows them", async () => {
    const count = async (query = "") => {
      const response = await call("GET", `/api/alarms/count${query}`, viewer);
      expect(response.statusCode, response.body).toBe(200);
      return response.json() as { state: string; count: number };
    };
    const before = await count();
    expect(before.state).toBe("active");
    const acknowledgedBefore = (await count("?state=acknowledged")).count;
    const { device, token } = await newDevice();
    const rule = (
      await call("POST", "/api/alarm-rules", admin, {
        device_id: device.id,
        metric: "temp",
        op: ">",
        threshold: 30,
        for_ms: 0,
        severity: "minor",
      })
    ).json().rule;
    await write(device.id, token, [{ timestamp_ms: service.clock.now - 1000, metrics: { temp: 31 } }]);
    expect(await count()).toEqual({ state: "active", count: before.count + 1 });
    await call("POST", `/api/alarms/${rule.id}.1/ack`, operator);
    expect(await count("?state=active")).toEqual({ state: "active", count: before.count });
    expect((await count("?state=acknowledged")).count).toBe(acknowledgedBefore + 1);
    expect((await call("GET", "/api/alarms/count?state=open", viewer)).json().error.code).toBe(
      "VALIDATION_FAILED",
    );
    expect((await call("GET", "/api/alarms/count", otherAdmin, undefined, "t2")).json().count).toBe(0);
  });

  it("a device without rules costs no alarm read per write; with rules, one rule read per write and no write while nothing moves", async () => {
    const { device, token } = await newDevice();
    const t = service.clock.now - 60_000;
    await write(device.id, token, [{ timestamp_ms: t, metrics: { x: 1 } }]);
    service.usage.reset();
    for (let i = 1; i <= 5; i++) await write(device.id, token, [{ timestamp_ms: t + i, metrics: { x: 1 } }]);
    expect(service.usage.byArea.get(`${backend}:alarms`)?.reads ?? 0).toBe(0);
    await call("POST", "/api/alarm-rules", admin, {
      device_id: device.id,
      metric: "x",
      op: ">",
      threshold: 5,
      for_ms: 0,
      severity: "warning",
    });
    await write(device.id, token, [{ timestamp_ms: t + 10, metrics: { x: 1 } }]);
    service.usage.reset();
    for (let i = 11; i <= 15; i++)
      await write(device.id, token, [{ timestamp_ms: t + i, metrics: { x: 1 } }]);
    expect(service.usage.byArea.get(`${backend}:alarms`)).toEqual({ reads: 5, writes: 0 });
  });

  it("the offline sweep raises for a device quiet longer than for_ms, and clears once it is heard from again", async () => {
    const { device, token } = await newDevice();
    const rule = (
      await call("POST", "/api/alarm-rules", admin, {
        device_id: device.id,
        kind: "offline",
        for_ms: 300_000,
        severity: "critical",
      })
    ).json().rule;
    await write(device.id, token, [{ timestamp_ms: service.clock.now, metrics: { x: 1 } }]);
    const sweep = () =>
      sweepOffline({
        alarms: service.alarms,
        lastSeen: async (tenant, id) =>
          (await service.router.stores.devices.get(tenant, id))?.last_seen_ms ?? null,
        fence: null,
        now: service.clock.now,
      });
    await sweep();
    expect((await alarms("?state=active")).alarms.filter((a) => a.rule_id === rule.id)).toEqual([]);
    service.clock.advance(301_000);
    await sweep();
    expect((await alarms("?state=active")).alarms.filter((a) => a.rule_id === rule.id)).toEqual([
      expect.objectContaining({ kind: "offline", severity: "critical", device_id: device.id, value: null }),
    ]);
    await sweep();
    expect((await alarms()).alarms.filter((a) => a.rule_id === rule.id)).toHaveLength(1);
    await write(device.id, token, [{ timestamp_ms: service.clock.now, metrics: { x: 1 } }]);
    await sweep();
    expect((await alarms("?state=cleared")).alarms.filter((a) => a.rule_id === rule.id)).toEqual([
      expect.objectContaining({ cleared_ms: service.clock.now }),
    ]);
  });
});
