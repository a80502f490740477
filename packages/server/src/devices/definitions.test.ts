import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_POINTS_PER_DEVICE } from "../http/schemas.js";
import type { PointDefinition } from "../stores/types.js";
import { BACKENDS, startTestService, type TestService } from "../testing/service.js";

const MINUTE = 60_000;
const OFFLINE_AFTER_MS = 10 * MINUTE;

const supplyTemp = { name: "Supply air", unit: "°C", kind: "number", min: 5, max: 40 };
const fanMode = { name: "Fan", kind: "enum", labels: { "0": "off", "1": "low", "2": "high" } };

describe.each(BACKENDS)("device location, point definitions and connectivity over HTTP (%s)", (backend) => {
  let service: TestService;
  let admin: string;
  let operator: string;
  let viewer: string;
  let otherAdmin: string;
  beforeAll(async () => {
    service = await startTestService(backend, {
      deviceWritesPerMinute: 100_000,
      deviceOfflineAfterMs: OFFLINE_AFTER_MS,
    });
    [admin, operator, viewer, otherAdmin] = [
      await service.login("t1", "admin"),
      await service.login("t1", "operator"),
      await service.login("t1", "viewer"),
      await service.login("t2", "admin"),
    ];
  }, 60_000);
  afterAll(() => service?.close());

  const newDevice = async (name = "AHU") => {
    const response = await service.request({
      method: "POST",
      url: "/api/devices",
      tenant: "t1",
      session: admin,
      payload: { name },
    });
    expect(response.statusCode).toBe(201);
    return response.json() as { device: { id: string }; token: string };
  };
  const getDevice = async (id: string, session = viewer) => {
    const response = await service.request({
      method: "GET",
      url: `/api/devices/${id}`,
      tenant: "t1",
      session,
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.json().device;
  };
  const patch = (id: string, payload: unknown, session = admin, tenant = "t1") =>
    service.request({ method: "PATCH", url: `/api/devices/${id}`, tenant, session, payload });
  const putPoint = (id: string, metric: string, payload: unknown, session = admin, tenant = "t1") =>
    service.request({
      method: "PUT",
      url: `/api/devices/${id}/points/${encodeURIComponent(metric)}`,
      tenant,
      session,
      payload,
    });
  const deletePoint = (id: string, metric: string, session = admin, tenant = "t1") =>
    service.request({
      method: "DELETE",
      url: `/api/devices/${id}/points/${encodeURIComponent(metric)}`,
      tenant,
      session,
    });
  const write = (id: string, token: string, metrics: Record<string, number>, offsetMs = 0) =>
    service.request({
      method: "POST",
      url: `/api/devices/${id}/telemetry`,
      tenant: "t1",
      headers: { authorization: `Bearer ${token}` },
      payload: { points: [{ timestamp_ms: service.clock.now + offsetMs, metrics }] },
    });
  const auditActions = async (target: string) =>
    (await service.router.stores.audit.query("t1", { limit: 1000 })).items
      .filter((entry) => entry.target === target)
      .map((entry) => ({ action: entry.action, ...entry.details }));
  const expectError = (response: { statusCode: number; json(): unknown }, status: number, code: string) => {
    expect(response.statusCode).toBe(status);
    expect((response.json() as { error: { code: string } }).error.code).toBe(code);
  };

  it("shows a new device with no location, no definitions, never seen and offline, to every role", async () => {
    const { device } = await newDevice("AHU-new");
    for (const session of [admin, operator, viewer]) {
      expect(await getDevice(device.id, session)).toMatchObject({
        id: device.id,
        name: "AHU-new",
        location: { site: null, building: null, floor: null, zone: null },
        points: {},
        last_seen_ms: null,
        status: "offline",
      });
    }
  });

  it("renames and locates a device (admin), merging location tags, audited, shown in the list", async () => {
    const { device } = await newDevice("VAV-1");
    const first = await patch(device.id, {
      location: { site: "HQ", building: "A", floor: "L2", zone: "East" },
    });
    expect(first.statusCode, first.body).toBe(200);
    const second = await patch(device.id, { name: "VAV-1 (east)", location: { zone: null, floor: "L3" } });
    expect(second.statusCode, second.body).toBe(200);
    const location = { site: "HQ", building: "A", floor: "L3", zone: null };
    expect(second.json().device).toMatchObject({ name: "VAV-1 (east)", location });
    expect(await getDevice(device.id)).toMatchObject({ name: "VAV-1 (east)", location });
    const list = await service.request({
      method: "GET",
      url: "/api/devices?limit=1000",
      tenant: "t1",
      session: viewer,
    });
    expect(list.json().devices.find((listed: { id: string }) => listed.id === device.id)).toMatchObject({
      name: "VAV-1 (east)",
      location,
      status: "offline",
    });
    expect(await auditActions(`device:${device.id}`)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: "device.update", fields: ["location"] }),
        expect.objectContaining({ action: "device.update", fields: ["location", "name"] }),
      ]),
    );
  });

  it("defines, redefines and deletes point definitions (admin), each change audited", async () => {
    const { device } = await newDevice("AHU-2");
    const put = await putPoint(device.id, "supply_temp_c", supplyTemp);
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json().device.points).toEqual({
      supply_temp_c: { ...supplyTemp, labels: null },
    });
    expect((await putPoint(device.id, "fan.mode", fanMode)).statusCode).toBe(200);
    expect((await putPoint(device.id, "supply_temp_c", { ...supplyTemp, max: 35 })).statusCode).toBe(200);
    const points: Record<string, PointDefinition> = (await getDevice(device.id)).points;
    expect(points).toEqual({
      supply_temp_c: { ...supplyTemp, max: 35, labels: null },
      "fan.mode": { ...fanMode, unit: null, min: null, max: null },
    });

    const removed = await deletePoint(device.id, "fan.mode");
    expect(removed.statusCode, removed.body).toBe(200);
    expect(Object.keys(removed.json().device.points)).toEqual(["supply_temp_c"]);
    // Deleting what is not there is not an error: the state asked for is the state reached.
    expect((await deletePoint(device.id, "fan.mode")).statusCode).toBe(200);
    expect(Object.keys((await getDevice(device.id)).points)).toEqual(["supply_temp_c"]);

    expect(await auditActions(`device:${device.id}`)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: "device.point_set", metric: "supply_temp_c", kind: "number" }),
        expect.objectContaining({ action: "device.point_set", metric: "fan.mode", kind: "enum" }),
        expect.objectContaining({ action: "device.point_delete", metric: "fan.mode", removed: true }),
        expect.objectContaining({ action: "device.point_delete", metric: "fan.mode", removed: false }),
      ]),
    );
  });

  it("keeps both of two concurrent edits of different points of one device", async () => {
    const { device } = await newDevice("AHU-concurrent");
    const answers = await Promise.all([
      putPoint(device.id, "supply_temp_c", supplyTemp),
      putPoint(device.id, "fan", fanMode),
      patch(device.id, { location: { site: "HQ" } }),
    ]);
    expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200, 200]);
    const stored = await getDevice(device.id);
    expect(Object.keys(stored.points).sort()).toEqual(["fan", "supply_temp_c"]);
    expect(stored.location.site).toBe("HQ");
  }, 60_000);

  it("refuses every edit to an operator or a viewer (403 FORBIDDEN) and changes nothing", async () => {
    const { device } = await newDevice("FCU-1");
    await putPoint(device.id, "co2_ppm", { name: "CO₂", unit: "ppm", kind: "number" });
    const before = await getDevice(device.id);
    for (const session of [operator, viewer]) {
      expectError(await patch(device.id, { name: "renamed" }, session), 403, "FORBIDDEN");
      expectError(await putPoint(device.id, "co2_ppm", supplyTemp, session), 403, "FORBIDDEN");
      expectError(await deletePoint(device.id, "co2_ppm", session), 403, "FORBIDDEN");
    }
    expect(await getDevice(device.id)).toEqual(before);
  });

  it("refuses another tenant's admin (403 TENANT_MISMATCH, audited) and an unknown device (404)", async () => {
    const { device } = await newDevice("Boiler");
    const before = await getDevice(device.id);
    expectError(await patch(device.id, { name: "mine" }, otherAdmin, "t2"), 403, "TENANT_MISMATCH");
    expectError(await putPoint(device.id, "t", supplyTemp, otherAdmin, "t2"), 403, "TENANT_MISMATCH");
    expectError(await deletePoint(device.id, "t", otherAdmin, "t2"), 403, "TENANT_MISMATCH");
    expectError(
      await service.request({
        method: "GET",
        url: `/api/devices/${device.id}`,
        tenant: "t2",
        session: otherAdmin,
      }),
      403,
      "TENANT_MISMATCH",
    );
    expect(await getDevice(device.id)).toEqual(before);
    const violations = (
      await service.router.stores.audit.query("t2", { action: "tenant.violation", limit: 100 })
    ).items;
    expect(
      violations.filter((entry) => entry.target === `device:${device.id}`).length,
    ).toBeGreaterThanOrEqual(4);

    const unknown = "00000000-0000-4000-8000-000000000000";
    expectError(await patch(unknown, { name: "x" }), 404, "NOT_FOUND");
    expectError(await putPoint(unknown, "t", supplyTemp), 404, "NOT_FOUND");
  });

  it.each([
    ["an empty change", {}],
    ["an unknown field", { colour: "red" }],
    ["an empty name", { name: "" }],
    ["a location tag of 65 characters", { location: { site: "x".repeat(65) } }],
    ["a control character in a tag", { location: { zone: "a\u0007b" } }],
    ["an unknown location tag", { location: { room: "101" } }],
    ["an object as a tag", { location: { floor: { level: 2 } } }],
  ])("refuses %s in PATCH with 400 VALIDATION_FAILED", async (_case, payload) => {
    expectError(await patch(service.t1.device.id, payload), 400, "VALIDATION_FAILED");
  });

  it.each([
    ["min above max", "t", { ...supplyTemp, min: 50 }],
    ["a range on a boolean point", "t", { name: "Alarm", kind: "boolean", max: 1 }],
    ["an enum point without labels", "t", { name: "Mode", kind: "enum" }],
    ["labels on a number point", "t", { ...supplyTemp, labels: { "0": "off" } }],
    ["a label key that is not an integer", "t", { ...fanMode, labels: { low: "1" } }],
    ["an unknown kind", "t", { name: "x", kind: "string" }],
    ["a missing name", "t", { kind: "number" }],
    ["a unit of 33 characters", "t", { ...supplyTemp, unit: "u".repeat(33) }],
    ["a range given as text", "t", { ...supplyTemp, min: "five" }],
    [
      "65 labels",
      "t",
      { ...fanMode, labels: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [String(i), "x"])) },
    ],
    ["a reserved metric name", "__name__", supplyTemp],
    ["a metric name of 65 characters", "m".repeat(65), supplyTemp],
    ["a metric name with a space", "supply temp", supplyTemp],
  ])("refuses %s in PUT with 400 VALIDATION_FAILED", async (_case, metric, payload) => {
    expectError(await putPoint(service.t1.device.id, metric, payload), 400, "VALIDATION_FAILED");
  });

  it(`refuses a device's ${MAX_POINTS_PER_DEVICE + 1}th point definition, but redefines an existing one`, async () => {
    const { device } = await newDevice("Many points");
    const definition = { name: "p", unit: null, kind: "number" as const, min: null, max: null, labels: null };
    await service.router.stores.devices.update("t1", device.id, () => ({
      points: Object.fromEntries(
        Array.from({ length: MAX_POINTS_PER_DEVICE }, (_, i) => [`p${i}`, definition]),
      ),
    }));
    expectError(await putPoint(device.id, "one_more", supplyTemp), 400, "VALIDATION_FAILED");
    expect((await putPoint(device.id, "p0", supplyTemp)).statusCode).toBe(200);
    expect(Object.keys((await getDevice(device.id)).points)).toHaveLength(MAX_POINTS_PER_DEVICE);
  });

  it("stores readings outside their point's valid range and flags them when read", async () => {
    const { device, token } = await newDevice("AHU-flags");
    await putPoint(device.id, "supply_temp_c", supplyTemp);
    await putPoint(device.id, "fan", fanMode);
    await putPoint(device.id, "alarm", { name: "Filter alarm", kind: "boolean" });
    expect(
      (await write(device.id, token, { supply_temp_c: 21, fan: 1, alarm: 0, other: 1e9 }, -3000)).statusCode,
    ).toBe(202);
    expect((await write(device.id, token, { supply_temp_c: 45, fan: 7, alarm: 0.5 }, -2000)).statusCode).toBe(
      202,
    );
    expect((await write(device.id, token, { supply_temp_c: 4.9, fan: 2 }, -1000)).statusCode).toBe(202);
    for (const query of ["", `?from=0&to=${service.clock.now}`]) {
      const read = await service.request({
        method: "GET",
        url: `/api/devices/${device.id}/telemetry${query}`,
        tenant: "t1",
        session: viewer,
      });
      expect(read.json().points, query).toEqual([
        {
          timestamp_ms: service.clock.now - 1000,
          metrics: { supply_temp_c: 4.9, fan: 2 },
          out_of_range: ["supply_temp_c"],
        },
        {
          timestamp_ms: service.clock.now - 2000,
          metrics: { supply_temp_c: 45, fan: 7, alarm: 0.5 },
          out_of_range: ["supply_temp_c", "fan", "alarm"],
        },
        {
          timestamp_ms: service.clock.now - 3000,
          metrics: { supply_temp_c: 21, fan: 1, alarm: 0, other: 1e9 },
        },
      ]);
    }
  });

  it("sets last_seen_ms on accepted telemetry and goes offline after the configured inactivity time", async () => {
    const { device, token } = await newDevice("Connectivity");
    const start = service.clock.now;
    expect((await write(device.id, token, { t: 1 })).statusCode).toBe(202);
    expect(await getDevice(device.id)).toMatchObject({ last_seen_ms: start, status: "online" });

    service.clock.advance(OFFLINE_AFTER_MS - 1);
    expect(await getDevice(device.id)).toMatchObject({ last_seen_ms: start, status: "online" });
    service.clock.advance(1);
    expect(await getDevice(device.id)).toMatchObject({ last_seen_ms: start, status: "offline" });

    // A refused write (bad input) is not contact.
    const refused = await service.request({
      method: "POST",
      url: `/api/devices/${device.id}/telemetry`,
      tenant: "t1",
      headers: { authorization: `Bearer ${token}` },
      payload: { points: [] },
    });
    expect(refused.statusCode).toBe(400);
    expect(await getDevice(device.id)).toMatchObject({ status: "offline" });

    expect((await write(device.id, token, { t: 2 })).statusCode).toBe(202);
    expect(await getDevice(device.id)).toMatchObject({ last_seen_ms: service.clock.now, status: "online" });
  });

  it("writes last_seen_ms at most once a minute per device, whatever the ingest rate", async () => {
    const { device, token } = await newDevice("Busy");
    const other = await newDevice("Busy too");
    const area = `${backend}:devices`;
    const writesBefore = service.usage.byArea.get(area)?.writes ?? 0;
    // 10 minutes of a write every 2 s from each of two devices: 600 requests.
    for (let second = 0; second < 600; second += 2) {
      expect((await write(device.id, token, { t: second })).statusCode).toBe(202);
      expect((await write(other.device.id, other.token, { t: second })).statusCode).toBe(202);
      service.clock.advance(2000);
    }
    const connectivityWrites = (service.usage.byArea.get(area)?.writes ?? 0) - writesBefore;
    expect(connectivityWrites).toBe(2 * 10);
    const seen = (await getDevice(device.id)).last_seen_ms;
    expect(service.clock.now - seen).toBeLessThanOrEqual(MINUTE + 2000);
  }, 120_000);
});
