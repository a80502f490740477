import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tokenHash } from "../sessions/tokens.js";
import { BACKENDS, startTestService, type TestService } from "../testing/service.js";

const DAY = 24 * 3600_000;

describe.each(BACKENDS)("devices and telemetry over HTTP (%s)", (backend) => {
  let service: TestService;
  let admin: string;
  let operator: string;
  let viewer: string;
  beforeAll(async () => {
    service = await startTestService(backend);
    [admin, operator, viewer] = [
      await service.login("t1", "admin"),
      await service.login("t1", "operator"),
      await service.login("t1", "viewer"),
    ];
  }, 60_000);
  afterAll(() => service?.close());

  const createDevice = async (name = "AHU") => {
    const response = await service.request({
      method: "POST",
      url: "/api/devices",
      tenant: "t1",
      session: admin,
      payload: { name },
    });
    expect(response.statusCode).toBe(201);
    return response.json() as { device: { id: string; name: string; tenant_id: string }; token: string };
  };
  const write = (id: string, points: unknown, auth: { token?: string; session?: string }) =>
    service.request({
      method: "POST",
      url: `/api/devices/${id}/telemetry`,
      tenant: "t1",
      ...(auth.session && { session: auth.session }),
      ...(auth.token && { headers: { authorization: `Bearer ${auth.token}` } }),
      payload: { points },
    });
  const point = (offsetMs = 0, metrics: Record<string, number> = { zone_temp_c: 21.5 }) => ({
    timestamp_ms: service.clock.now + offsetMs,
    metrics,
  });

  it("creates a device and shows its token once; only the token's hash is stored", async () => {
    const created = await createDevice("AHU-1");
    expect(created.device).toMatchObject({ name: "AHU-1", tenant_id: "t1" });
    expect(created.token).toMatch(/^fbd_[A-Za-z0-9_-]{43}$/);
    const stored = await service.router.stores.devices.get("t1", created.device.id);
    expect(stored?.token_hash).toBe(tokenHash(created.token));
    expect(JSON.stringify(stored)).not.toContain(created.token);
    for (const url of [`/api/devices/${created.device.id}`, "/api/devices?limit=1000"]) {
      const read = await service.request({ method: "GET", url, tenant: "t1", session: viewer });
      expect(read.statusCode).toBe(200);
      expect(read.body).not.toContain(created.token);
      expect(read.body).not.toContain(stored!.token_hash);
    }
  });

  it("accepts points with the device's token (202 accepted) and serves them newest first", async () => {
    const { device, token } = await createDevice();
    const response = await write(device.id, [point(-2000, { a: 1 }), point(-1000, { a: 2 })], { token });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ accepted: 2 });
    const read = await service.request({
      method: "GET",
      url: `/api/devices/${device.id}/telemetry`,
      tenant: "t1",
      session: viewer,
    });
    expect(read.json()).toEqual({
      points: [
        { timestamp_ms: service.clock.now - 1000, metrics: { a: 2 } },
        { timestamp_ms: service.clock.now - 2000, metrics: { a: 1 } },
      ],
      next_cursor: null,
    });
  });

  it("accepts writes from an operator's session, refuses a wrong token", async () => {
    const { device } = await createDevice();
    expect((await write(device.id, [point()], { session: operator })).statusCode).toBe(202);
    const wrong = await write(device.id, [point(1)], { token: `fbd_${"A".repeat(43)}` });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe("UNAUTHENTICATED");
  });

  it("rotating the token invalidates the old one at once", async () => {
    const { device, token } = await createDevice();
    const rotated = await service.request({
      method: "POST",
      url: `/api/devices/${device.id}/token`,
      tenant: "t1",
      session: admin,
    });
    expect(rotated.statusCode).toBe(200);
    const fresh = rotated.json().token as string;
    expect(fresh).not.toBe(token);
    expect((await write(device.id, [point()], { token })).statusCode).toBe(401);
    expect((await write(device.id, [point()], { token: fresh })).statusCode).toBe(202);
  });

  it("limits each device to 5 points a minute: 429 RATE_LIMITED with Retry-After, then accepts again", async () => {
    const { device, token } = await createDevice();
    const other = await createDevice();
    expect(
      (
        await write(
          device.id,
          [1, 2, 3].map((i) => point(-i)),
          { token },
        )
      ).statusCode,
    ).toBe(202);
    expect((await write(device.id, [point(-4), point(-5)], { token })).statusCode).toBe(202);
    const limited = await write(device.id, [point(-6)], { token });
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe("RATE_LIMITED");
    expect(Number(limited.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers["retry-after"])).toBeLessThanOrEqual(12);
    // The limit is per device, and an operator's writes count against the same device.
    expect((await write(other.device.id, [point()], { token: other.token })).statusCode).toBe(202);
    expect((await write(device.id, [point(-7)], { session: operator })).statusCode).toBe(429);
    service.clock.advance(12_000);
    expect((await write(device.id, [point(-8)], { token })).statusCode).toBe(202);
    expect((await write(device.id, [point(-9)], { token })).statusCode).toBe(429);
  });

  it.each([
    ["no points", { points: [] }],
    ["a point in the future", { points: [{ timestamp_ms: "FUTURE", metrics: { a: 1 } }] }],
    ["a point older than retention", { points: [{ timestamp_ms: "ANCIENT", metrics: { a: 1 } }] }],
    ["a negative timestamp", { points: [{ timestamp_ms: -1, metrics: { a: 1 } }] }],
    ["a fractional timestamp", { points: [{ timestamp_ms: 1.5, metrics: { a: 1 } }] }],
    ["a string metric", { points: [{ timestamp_ms: "NOW", metrics: { a: "1" } }] }],
    ["no metrics", { points: [{ timestamp_ms: "NOW", metrics: {} }] }],
    ["a bad metric name", { points: [{ timestamp_ms: "NOW", metrics: { "bad name": 1 } }] }],
    [
      "too many metrics",
      {
        points: [
          {
            timestamp_ms: "NOW",
            metrics: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`m${i}`, i])),
          },
        ],
      },
    ],
    [
      "too many points",
      { points: Array.from({ length: 501 }, () => ({ timestamp_ms: "NOW", metrics: { a: 1 } })) },
    ],
    [
      "more points than a minute allows",
      { points: Array.from({ length: 6 }, () => ({ timestamp_ms: "NOW", metrics: { a: 1 } })) },
    ],
    ["an extra field", { points: [{ timestamp_ms: "NOW", metrics: { a: 1 }, extra: true }] }],
    ["no points array", { data: [] }],
  ])("rejects %s with 400 VALIDATION_FAILED and writes nothing", async (_name, body) => {
    const { device, token } = await createDevice();
    const resolve = (value: unknown) =>
      value === "NOW"
        ? service.clock.now
        : value === "FUTURE"
          ? service.clock.now + DAY
          : value === "ANCIENT"
            ? service.clock.now - 91 * DAY
            : value;
    const payload = JSON.parse(JSON.stringify(body), (key, value) =>
      key === "timestamp_ms" ? resolve(value) : value,
    );
    const response = await service.request({
      method: "POST",
      url: `/api/devices/${device.id}/telemetry`,
      tenant: "t1",
      headers: { authorization: `Bearer ${token}` },
      payload,
    });
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json().error.code).toBe("VALIDATION_FAILED");
    expect(await service.router.stores.telemetry.latest("t1", device.id, 10)).toEqual([]);
  });

  it("rejects a non-finite number (1e999 parses to Infinity) with VALIDATION_FAILED", async () => {
    const { device, token } = await createDevice();
    const response = await service.request({
      method: "POST",
      url: `/api/devices/${device.id}/telemetry`,
      tenant: "t1",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      payload: `{"points":[{"timestamp_ms":${service.clock.now},"metrics":{"a":1e999}}]}`,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe("VALIDATION_FAILED");
  });

  it("rejects a body over the size bound with 413 PAYLOAD_TOO_LARGE", async () => {
    const { device, token } = await createDevice();
    const response = await service.request({
      method: "POST",
      url: `/api/devices/${device.id}/telemetry`,
      tenant: "t1",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      payload: `{"points":[{"timestamp_ms":1,"metrics":{"a":1}}],"pad":"${"x".repeat(200 * 1024)}"}`,
    });
    expect(response.statusCode).toBe(413);
    expect(response.json().error.code).toBe("PAYLOAD_TOO_LARGE");
  });

  describe("reads", () => {
    let deviceId: string;
    const base = () => service.clock.now - 60 * 60_000;
    beforeAll(async () => {
      const { device } = await createDevice("reads");
      deviceId = device.id;
      const points = Array.from({ length: 1200 }, (_, i) => ({
        timestamp_ms: base() + i * 1000,
        metrics: { i },
      }));
      await service.router.stores.telemetry.append("t1", deviceId, points);
    }, 60_000);

    const read = (query: string) =>
      service.request({
        method: "GET",
        url: `/api/devices/${deviceId}/telemetry${query}`,
        tenant: "t1",
        session: viewer,
      });

    it("returns the latest 100 by default, newest first", async () => {
      const body = (await read("")).json();
      expect(body.points).toHaveLength(100);
      expect(body.points[0].metrics.i).toBe(1199);
      expect(body.points[99].metrics.i).toBe(1100);
      expect(body.next_cursor).toBeNull();
    });

    it("returns up to 1000 with ?limit=, and refuses more", async () => {
      expect((await read("?limit=1000")).json().points).toHaveLength(1000);
      const tooMany = await read("?limit=1001");
      expect(tooMany.statusCode).toBe(400);
      expect(tooMany.json().error.code).toBe("VALIDATION_FAILED");
    });

    it("pages a window with the cursor until next_cursor is null, covering it exactly once", async () => {
      const from = base() + 100_000;
      const to = base() + 350_000;
      const seen: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const body = (
          await read(
            `?from=${from}&to=${to}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
          )
        ).json();
        seen.push(...body.points.map((p: { metrics: { i: number } }) => p.metrics.i));
        cursor = body.next_cursor;
        pages += 1;
      } while (cursor && pages < 10);
      expect(seen).toEqual(Array.from({ length: 250 }, (_, k) => 349 - k));
      expect(pages).toBe(3);
    });

    it("refuses a tampered cursor and an empty window with VALIDATION_FAILED", async () => {
      for (const query of ["?cursor=not-a-cursor", `?from=${base() + 10}&to=${base()}`]) {
        const response = await read(query);
        expect(response.statusCode, query).toBe(400);
        expect(response.json().error.code).toBe("VALIDATION_FAILED");
      }
    });
  });

  it("answers 404 NOT_FOUND for an unknown device and deletes devices", async () => {
    const missing = await service.request({
      method: "GET",
      url: `/api/devices/${crypto.randomUUID()}`,
      tenant: "t1",
      session: viewer,
    });
    expect(missing.statusCode).toBe(404);
    const { device, token } = await createDevice();
    const deleted = await service.request({
      method: "DELETE",
      url: `/api/devices/${device.id}`,
      tenant: "t1",
      session: admin,
    });
    expect(deleted.statusCode).toBe(200);
    expect(
      (
        await service.request({
          method: "GET",
          url: `/api/devices/${device.id}`,
          tenant: "t1",
          session: viewer,
        })
      ).statusCode,
    ).toBe(404);
    expect((await write(device.id, [point()], { token })).statusCode).toBe(401);
  });

  it("pages the audit log for admins by user and action with a cursor", async () => {
    const userId = service.t1.users.admin.id;
    const seen = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response = await service.request({
        method: "GET",
        url: `/api/audit?user_id=${userId}&action=device.create&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        tenant: "t1",
        session: admin,
      });
      expect(response.statusCode).toBe(200);
      const body = response.json();
      for (const entry of body.entries) {
        expect(entry).toMatchObject({ action: "device.create", user_id: userId, outcome: "success" });
        seen.add(entry.id);
      }
      cursor = body.next_cursor;
      pages += 1;
    } while (cursor && pages < 50);
    const devices = await service.router.stores.devices.list("t1", { limit: 1000 });
    // One device.create entry per device the admin created over HTTP (the fixture's included).
    expect(seen.size).toBeGreaterThanOrEqual(devices.items.length - 1);
    expect(pages).toBeGreaterThan(1);
  });
});
