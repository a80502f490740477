import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tokenHash } from "../sessions/tokens.js";
import { FlagsState, sqliteFlagsPersistence } from "../stores/routing/flags.js";
import { startTestService, type TestService } from "../testing/service.js";

describe("routing flags over HTTP", () => {
  let service: TestService;
  let admin: string;
  beforeAll(async () => {
    // Starts with every area on SQLite, Firestore configured (a fresh emulator project).
    service = await startTestService("sqlite");
    admin = await service.login("t1", "admin");
  }, 60_000);
  afterAll(() => service?.close());

  const put = (body: object, session = admin) =>
    service.request({ method: "PUT", url: "/api/admin/flags", tenant: "t1", session, payload: body });

  it("reports the flags and the store of each area", async () => {
    const response = await service.request({
      method: "GET",
      url: "/api/admin/flags",
      tenant: "t1",
      session: admin,
    });
    expect(response.json()).toEqual({
      flags: { telemetry: false, audit: false, auth: false, telemetry_dual_write: false },
      stores: { auth: "sqlite", audit: "sqlite", telemetry: "sqlite" },
      firestore_configured: true,
    });
  });

  it("moves telemetry to Firestore and back without a restart, persists each change, and audits it", async () => {
    const { device, deviceToken } = service.t1;
    const write = (timestamp_ms: number) =>
      service.request({
        method: "POST",
        url: `/api/devices/${device.id}/telemetry`,
        tenant: "t1",
        headers: { authorization: `Bearer ${deviceToken}` },
        payload: { points: [{ timestamp_ms, metrics: { v: timestamp_ms } }] },
      });
    const [sqlite, firestore] = service.router.all().map(({ stores }) => stores.telemetry);
    const now = service.clock.now;
    expect((await write(now - 3000)).statusCode).toBe(202);

    const on = await put({ telemetry: true });
    expect(on.statusCode).toBe(200);
    expect(on.json().stores).toEqual({ auth: "sqlite", audit: "sqlite", telemetry: "firestore" });
    expect((await write(now - 2000)).statusCode).toBe(202);
    expect((await sqlite!.latest("t1", device.id, 10)).map((p) => p.timestamp_ms)).toEqual([now - 3000]);
    expect((await firestore!.latest("t1", device.id, 10)).map((p) => p.timestamp_ms)).toEqual([now - 2000]);
    // Persisted: a fresh process reading the same settings sees the change, whatever the environment says.
    expect(
      new FlagsState(sqliteFlagsPersistence(service.sqlite), {
        telemetry: false,
        audit: false,
        auth: false,
      }).current(),
    ).toEqual({
      telemetry: true,
      audit: false,
      auth: false,
      telemetry_dual_write: false,
    });

    // Entries with equal timestamps have no defined order: let the test clock move between the changes.
    service.clock.advance(1000);
    const off = await put({ telemetry: false });
    expect(off.json().stores.telemetry).toBe("sqlite");
    const read = await service.request({
      method: "GET",
      url: `/api/devices/${device.id}/telemetry`,
      tenant: "t1",
      session: admin,
    });
    expect(read.json().points.map((p: { timestamp_ms: number }) => p.timestamp_ms)).toEqual([now - 3000]);

    const audit = await service.router.stores.audit.query("t1", { action: "flags.update", limit: 10 });
    expect(audit.items.map((e) => e.details)).toEqual([
      expect.objectContaining({
        before: expect.objectContaining({ telemetry: true }),
        after: expect.objectContaining({ telemetry: false }),
      }),
      expect.objectContaining({
        before: expect.objectContaining({ telemetry: false }),
        after: expect.objectContaining({ telemetry: true }),
      }),
    ]);
    expect(audit.items[0]?.user_id).toBe(service.t1.users.admin.id);
  });

  it("moves the audit log on its own flag", async () => {
    await put({ audit: true });
    const firestoreAudit = service.router.all()[1]!.stores.audit;
    await put({ audit: false });
    // The change to false is recorded in the store in use after it (SQLite); the change to true in Firestore.
    expect((await firestoreAudit.query("t1", { action: "flags.update", limit: 10 })).items).toHaveLength(1);
  });

  it("signs everyone out when the auth area moves (forced re-login, docs/design/store-routing.md)", async () => {
    const viewer = await service.login("t1", "viewer");
    const sqliteSessions = service.router.all()[0]!.stores.sessions;
    const response = await put({ auth: true });
    expect(response.statusCode).toBe(200);
    expect(response.json().stores.auth).toBe("firestore");
    expect((await sqliteSessions.find("t1", tokenHash(viewer))).status).toBe("missing");
    expect((await sqliteSessions.find("t1", tokenHash(admin))).status).toBe("missing");
    // Flip back directly: the service must not resurrect the SQLite sessions.
    service.flags.set({ ...service.flags.current(), auth: false }, service.clock.now);
    const me = await service.request({ method: "GET", url: "/api/auth/me", tenant: "t1", session: viewer });
    expect(me.statusCode).toBe(401);
    admin = await service.login("t1", "admin");
  });

  it("refuses unknown flags, non-booleans and an empty change with VALIDATION_FAILED", async () => {
    for (const body of [{ bogus: true }, { telemetry: "maybe" }, {}]) {
      const response = await put(body);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(response.json().error.code).toBe("VALIDATION_FAILED");
    }
  });
});

describe("routing flags without Firestore", () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService("sqlite", { withoutFirestore: true });
  }, 60_000);
  afterAll(() => service?.close());

  it("refuses to route an area to Firestore when none is configured", async () => {
    const admin = await service.login("t1", "admin");
    const response = await service.request({
      method: "PUT",
      url: "/api/admin/flags",
      tenant: "t1",
      session: admin,
      payload: { audit: true },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toContain("Firestore is not configured");
    expect(service.flags.current().audit).toBe(false);
  });
});

describe("an area moved by another instance", () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService("sqlite");
  }, 60_000);
  afterAll(() => service?.close());

  it("makes this instance forget the devices it cached: a token of the store left behind no longer writes", async () => {
    const { device, deviceToken } = service.t1;
    const write = () =>
      service.request({
        method: "POST",
        url: `/api/devices/${device.id}/telemetry`,
        tenant: "t1",
        headers: { authorization: `Bearer ${deviceToken}` },
        payload: { points: [{ timestamp_ms: service.clock.now - 1000, metrics: { v: 1 } }] },
      });
    expect((await write()).statusCode).toBe(202);
    // Another instance on the same settings moves auth (and with it the devices) to Firestore, where
    // this device does not exist; this instance picks the change up at its next reload.
    const otherInstance = new FlagsState(sqliteFlagsPersistence(service.sqlite), service.flags.current());
    otherInstance.set({ ...otherInstance.current(), auth: true }, service.clock.now, "cli");
    service.flags.reload();
    expect(service.router.backendOf("auth")).toBe("firestore");
    expect((await write()).statusCode).toBe(401);
  });
});
