import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BACKENDS, startTestService, type TestService } from "../testing/service.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe.each(BACKENDS)("trends over HTTP (%s)", (backend) => {
  let service: TestService;
  let admin: string;
  let viewer: string;
  let device: string;
  /** The start of the UTC day before the test clock's: a whole day of points, all in the past. */
  let day: number;
  beforeAll(async () => {
    service = await startTestService(backend);
    admin = await service.login("t1", "admin");
    viewer = await service.login("t1", "viewer");
    device = service.t1.device.id;
    day = Math.floor(service.clock.now / DAY) * DAY - DAY;
    // One point every 30 minutes, 0..47; every point carries temp, even ones carry co2 too.
    const points = Array.from({ length: 48 }, (_, i) => ({
      timestamp_ms: day + i * 30 * MINUTE,
      metrics: i % 2 === 0 ? { temp_c: i, co2_ppm: 400 + i } : { temp_c: i },
    }));
    // Through the store: the write route's device limit (5 points a minute) is not what this tests.
    await service.router.stores.telemetry.append("t1", device, points);
  }, 60_000);
  afterAll(() => service?.close());

  const get = (url: string, session = viewer, tenant = "t1") =>
    service.request({ method: "GET", url, tenant, session });

  it("answers hourly buckets of the device's points to any role of its tenant", async () => {
    const response = await get(
      `/api/devices/${device}/telemetry/aggregate?from=${day}&to=${day + DAY}&interval=1h`,
    );
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.interval).toBe("1h");
    expect(body.buckets).toHaveLength(24);
    expect(body.buckets[3]).toEqual({
      start_ms: day + 3 * HOUR,
      metrics: {
        co2_ppm: { min: 406, max: 406, avg: 406, sum: 406, count: 1, first: 406, last: 406 },
        temp_c: { min: 6, max: 7, avg: 6.5, sum: 13, count: 2, first: 6, last: 7 },
      },
    });
    const only = await get(
      `/api/devices/${device}/telemetry/aggregate?from=${day}&to=${day + HOUR}&interval=5m&metrics=co2_ppm`,
    );
    expect(only.json().buckets).toEqual([
      { start_ms: day, metrics: { co2_ppm: expect.objectContaining({ count: 1, first: 400 }) } },
    ]);
  });

  it("refuses bad ranges with VALIDATION_FAILED, and another tenant's device with TENANT_MISMATCH", async () => {
    const base = `/api/devices/${device}/telemetry/aggregate`;
    for (const query of [
      `from=${day}&to=${day + 2000 * 5 * MINUTE}&interval=5m`,
      `from=${day}&to=${day}&interval=1h`,
      `from=${day}&to=${day + DAY}&interval=2h`,
      `from=${day}&to=9007199254740993&interval=1h`,
      `from=-1&to=${day}&interval=1h`,
      `from=${day}&to=${day + DAY}&interval=1h&metrics=a,,b`,
      `from=${day}&to=${day + DAY}&interval=1h&extra=1`,
    ]) {
      const response = await get(`${base}?${query}`);
      expect({ query, status: response.statusCode }).toEqual({ query, status: 400 });
      expect(response.json().error.code).toBe("VALIDATION_FAILED");
    }
    const other = await get(
      `/api/devices/${service.t2.device.id}/telemetry/aggregate?from=${day}&to=${day + DAY}&interval=1h`,
    );
    expect(other.statusCode).toBe(403);
    expect(other.json().error.code).toBe("TENANT_MISMATCH");
    const anonymous = await service.request({
      method: "GET",
      url: `${base}?from=${day}&to=${day + DAY}&interval=1h`,
      tenant: "t1",
    });
    expect(anonymous.statusCode).toBe(401);
  });

  it("lets the tenant admin set an IANA time zone, which daily buckets then follow", async () => {
    const set = (time_zone: string, session = admin) =>
      service.request({ method: "PATCH", url: "/api/tenant", tenant: "t1", session, payload: { time_zone } });
    expect((await set("Asia/Kolkata", viewer)).statusCode).toBe(403);
    const bad = await set("Mars/Olympus_Mons");
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe("VALIDATION_FAILED");
    const good = await set("Asia/Kolkata");
    expect(good.statusCode).toBe(200);
    expect(good.json().tenant).toMatchObject({ id: "t1", time_zone: "Asia/Kolkata" });
    expect((await get("/api/tenant")).json().tenant.time_zone).toBe("Asia/Kolkata");
    expect(
      (await get("/api/tenant", await service.login("t2", "viewer"), "t2")).json().tenant.time_zone,
    ).toBe("UTC");
    const daily = await get(
      `/api/devices/${device}/telemetry/aggregate?from=${day - DAY}&to=${day + 2 * DAY}&interval=1d`,
    );
    expect(daily.statusCode).toBe(200);
    expect(daily.json().time_zone).toBe("Asia/Kolkata");
    // Local days start at 18:30 UTC: the UTC day's 48 points fall in two of them (37 before 18:30 UTC).
    const buckets = daily.json().buckets as Array<{
      start_ms: number;
      metrics: { temp_c: { count: number } };
    }>;
    expect(buckets.map((bucket) => [bucket.start_ms, bucket.metrics.temp_c.count])).toEqual([
      [day - DAY + 18.5 * HOUR, 37],
      [day + 18.5 * HOUR, 11],
    ]);
    const audit = await get("/api/audit?action=tenant.update", admin);
    expect(audit.json().entries[0]).toMatchObject({ action: "tenant.update", outcome: "success" });
    await set("UTC");
  });

  it("exports raw points as CSV, one column per metric, ISO-8601 UTC and epoch ms, oldest first", async () => {
    const response = await get(`/api/devices/${device}/telemetry.csv?from=${day}&to=${day + 2 * HOUR}`);
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toBe("text/csv; charset=utf-8");
    expect(response.headers["content-disposition"]).toMatch(/^attachment; filename=".+\.csv"$/);
    expect(response.body.split("\r\n")).toEqual([
      "time_utc,timestamp_ms,co2_ppm,temp_c",
      `${new Date(day).toISOString()},${day},400,0`,
      `${new Date(day + 30 * MINUTE).toISOString()},${day + 30 * MINUTE},,1`,
      `${new Date(day + HOUR).toISOString()},${day + HOUR},402,2`,
      `${new Date(day + 90 * MINUTE).toISOString()},${day + 90 * MINUTE},,3`,
      "",
    ]);
    // More points than one store page: every one, once, in order.
    const all = await get(`/api/devices/${device}/telemetry.csv?from=${day}&to=${day + DAY}&metrics=temp_c`);
    const rows = all.body.trim().split("\r\n").slice(1);
    expect(rows.map((row) => Number(row.split(",")[2]))).toEqual(Array.from({ length: 48 }, (_, i) => i));
  });

  it("exports trend buckets as CSV with ?interval=, a column per metric and statistic", async () => {
    const response = await get(
      `/api/devices/${device}/telemetry.csv?from=${day}&to=${day + 2 * HOUR}&interval=1h&metrics=temp_c`,
    );
    expect(response.statusCode).toBe(200);
    expect(response.body.split("\r\n")).toEqual([
      "start_utc,start_ms,temp_c.avg,temp_c.min,temp_c.max,temp_c.sum,temp_c.count,temp_c.first,temp_c.last",
      `${new Date(day).toISOString()},${day},0.5,0,1,1,2,0,1`,
      `${new Date(day + HOUR).toISOString()},${day + HOUR},2.5,2,3,5,2,2,3`,
      "",
    ]);
    const bad = await get(`/api/devices/${device}/telemetry.csv?from=${day}&to=${day - 1}`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe("VALIDATION_FAILED");
    const other = await get(`/api/devices/${service.t2.device.id}/telemetry.csv?from=${day}&to=${day + 1}`);
    expect(other.statusCode).toBe(403);
    expect(other.json().error.code).toBe("TENANT_MISMATCH");
  });
});
