import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tokenHash } from "../../sessions/tokens.js";
import { startTestService, type TestService } from "../../testing/service.js";
import { changeFlags, type FlagChangeContext, FlagChangeRefusedError } from "./flag-change.js";
import { FlagsState } from "./flags.js";

const OPERATOR = "cli:ops@host-1";

describe("the flag-change service (firebrick flags set)", () => {
  let service: TestService;
  let blockers: string[] = [];
  let context: FlagChangeContext;
  beforeAll(async () => {
    // Every area on SQLite, Firestore configured (a fresh emulator project).
    service = await startTestService("sqlite");
    context = {
      flags: service.flags,
      router: service.router,
      clock: service.clock.read,
      platformAudit: service.fleet.platformAudit,
      telemetryGate: async () => blockers,
    };
  }, 60_000);
  afterAll(() => service?.close());

  it("moves telemetry to Firestore and back without a restart, saved service-wide, audited for the platform and every tenant", async () => {
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

    const on = await changeFlags(context, { telemetry: true }, OPERATOR);
    expect(on).toMatchObject({ moved: ["telemetry"], authChanged: false, tenantsNotified: 2 });
    expect(service.router.backends()).toEqual({ auth: "sqlite", audit: "sqlite", telemetry: "firestore" });
    expect((await write(now - 2000)).statusCode).toBe(202);
    expect((await sqlite!.latest("t1", device.id, 10)).map((p) => p.timestamp_ms)).toEqual([now - 3000]);
    expect((await firestore!.latest("t1", device.id, 10)).map((p) => p.timestamp_ms)).toEqual([now - 2000]);
    // Saved in the service-wide state: another instance starting now routes the same way.
    expect((await service.fleet.flags.load())?.flags).toMatchObject({ telemetry: true });
    expect(
      new FlagsState(service.fleet.flags, { telemetry: false, audit: false, auth: false }).current(),
    ).toMatchObject({
      telemetry: false,
    });

    service.clock.advance(1000);
    const off = await changeFlags(context, { telemetry: false }, OPERATOR);
    expect(off.moved).toEqual(["telemetry"]);
    expect(service.router.backendOf("telemetry")).toBe("sqlite");

    const platform = await service.fleet.platformAudit.list({ limit: 10 });
    expect(platform.items.map((entry) => [entry.action, entry.actor, entry.details.moved])).toEqual([
      ["flags.update", OPERATOR, ["telemetry"]],
      ["flags.update", OPERATOR, ["telemetry"]],
    ]);
    for (const tenant of ["t1", "t2"]) {
      const log = await service.router.stores.audit.query(tenant, { action: "flags.update", limit: 10 });
      // The audit area stayed on SQLite: both changes are there, newest first.
      expect(log.items.map((entry) => entry.details)).toEqual([
        expect.objectContaining({
          after: expect.objectContaining({ telemetry: false }),
          by: OPERATOR,
          via: "platform",
        }),
        expect.objectContaining({
          after: expect.objectContaining({ telemetry: true }),
          by: OPERATOR,
          via: "platform",
        }),
      ]);
    }
  });

  it("does nothing for a change that changes nothing", async () => {
    const before = (await service.fleet.platformAudit.list({ limit: 100 })).items.length;
    const change = await changeFlags(context, { telemetry: false }, OPERATOR);
    expect(change).toMatchObject({ moved: [], tenantsNotified: 0 });
    expect((await service.fleet.platformAudit.list({ limit: 100 })).items).toHaveLength(before);
  });

  it("moves telemetry reads to Firestore only past the readiness gate, at every off→on change", async () => {
    blockers = ["the telemetry composite indexes are not READY (firebrick indexes status)"];
    const refused = changeFlags(context, { telemetry: true }, OPERATOR);
    await expect(refused).rejects.toBeInstanceOf(FlagChangeRefusedError);
    await expect(refused).rejects.toMatchObject({ reason: "telemetry_flip_blocked" });
    expect(service.flags.current().telemetry).toBe(false);
    expect((await service.fleet.flags.load())?.flags.telemetry).toBe(false);
    // The dual-write window opens without the gate (writes only); reads still wait for it.
    await changeFlags(context, { telemetry_dual_write: true }, OPERATOR);
    await expect(changeFlags(context, { telemetry: true }, OPERATOR)).rejects.toBeInstanceOf(
      FlagChangeRefusedError,
    );
    blockers = [];
    await changeFlags(context, { telemetry: true }, OPERATOR);
    expect(service.router.backendOf("telemetry")).toBe("firestore");
    await changeFlags(context, { telemetry: false, telemetry_dual_write: false }, OPERATOR);
  });

  it("signs everyone out when the auth area moves (forced re-login), and sessions left behind stay dead", async () => {
    const viewer = await service.login("t1", "viewer");
    const admin = await service.login("t1", "admin");
    const sqliteSessions = service.router.all()[0]!.stores.sessions;
    const change = await changeFlags(context, { auth: true }, OPERATOR);
    expect(change).toMatchObject({ authChanged: true, moved: ["auth"] });
    expect(change.revokedSessions).toBeGreaterThanOrEqual(2);
    expect(service.router.backendOf("auth")).toBe("firestore");
    expect((await sqliteSessions.find("t1", tokenHash(viewer))).status).toBe("missing");
    expect((await sqliteSessions.find("t1", tokenHash(admin))).status).toBe("missing");
    await changeFlags(context, { auth: false }, OPERATOR);
    const me = await service.request({ method: "GET", url: "/api/auth/me", tenant: "t1", session: viewer });
    expect(me.statusCode).toBe(401);
  });
});

describe("the flag-change service without Firestore", () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService("sqlite", { withoutFirestore: true });
  }, 60_000);
  afterAll(() => service?.close());

  it("refuses to route an area to Firestore when none is configured", async () => {
    const context = {
      flags: service.flags,
      router: service.router,
      clock: service.clock.read,
      platformAudit: service.fleet.platformAudit,
    };
    await expect(changeFlags(context, { audit: true }, OPERATOR)).rejects.toMatchObject({
      reason: "firestore_not_configured",
      message: expect.stringContaining("Firestore is not configured"),
    });
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
    // Another instance moves auth (and with it the devices) to Firestore, where this device does not
    // exist; this instance hears of it through the service-wide state's watch.
    const otherInstance = new FlagsState(service.fleet.flags, service.flags.current());
    await otherInstance.update((current) => ({ ...current, auth: true }), "cli", service.clock.now);
    service.flags.observe((await service.fleet.flags.load())!);
    expect(service.router.backendOf("auth")).toBe("firestore");
    expect((await write()).statusCode).toBe(401);
  });
});
