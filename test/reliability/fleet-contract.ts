// The contract every fleet keeps (docs/design/fleet.md), whatever it shares: instances on one Firestore
// project (fleet.test.ts) or processes on one SQLite data dir (fleet-sqlite.test.ts). Requests are spread
// over the instances round-robin, as a load balancer would. Times are logged, never asserted: the bench
// measures them (bench/phases/fleet.ts).
import { expect, it } from "vitest";
import { call, createDevices, eventually, type Reply, type ServeProcess, scaled } from "./support.js";

const TENANT = "demo";
/** Limit checks: concurrent writes to one device, spread over the instances. */
const BURST = scaled(12, 30);
/** Latest-100 agreement: devices checked. */
const DEVICES = scaled(1, 4);

export interface FleetUnderTest {
  servers: ServeProcess[];
  /** The demo admin's session. */
  session: string;
}

/**
 * Declares, inside the caller's `describe`, the tests of the fleet's shared contract: the device write
 * limit and a sign-in budget hold for the fleet, "latest 100" agrees everywhere (late points and
 * overwrites included), a rotated or deleted token stops everywhere. `fleetOf` is read when they run.
 */
export function describeFleetContract(fleetOf: () => FleetUnderTest): void {
  let turn = 0;
  const fleetNow = () => fleetOf().servers;
  /** The next instance, round-robin. */
  const next = () => fleetNow()[turn++ % fleetNow().length]!;
  const body = <T>(reply: Reply) => reply.body as T;
  const count = () => fleetNow().length;

  it("holds the device write limit for the fleet: a burst over the instances gets exactly one minute's points", async () => {
    const [device] = await createDevices(next().url, {
      tenant: TENANT,
      session: fleetOf().session,
      count: 1,
    });
    const now = Date.now();
    const replies = await Promise.all(
      Array.from({ length: BURST }, (_, i) =>
        call(next().url, "POST", `/api/devices/${device!.id}/telemetry`, {
          tenant: TENANT,
          bearer: device!.token,
          body: { points: [{ timestamp_ms: now - 60_000 + i, metrics: { t: i } }] },
          timeoutMs: 30_000,
        }),
      ),
    );
    const statuses = replies.map((reply) => reply.status);
    console.log(
      `${BURST} concurrent writes over ${count()} instances: ${statuses.filter((s) => s === 202).length} accepted`,
    );
    expect(statuses.filter((s) => s === 202)).toHaveLength(5);
    expect(statuses.filter((s) => s !== 202 && s !== 429)).toEqual([]);
    // Refused everywhere now, whichever instance it reaches.
    for (const server of fleetNow()) {
      const again = await call(server.url, "POST", `/api/devices/${device!.id}/telemetry`, {
        tenant: TENANT,
        bearer: device!.token,
        body: { points: [{ timestamp_ms: now, metrics: { t: 99 } }] },
      });
      expect(again.status).toBe(429);
    }
  }, 120_000);

  it("holds the sign-in budget of (username, address) for the fleet, and never locks the right password out", async () => {
    const user = "fleet-target";
    const created = await call(next().url, "POST", "/api/users", {
      tenant: TENANT,
      session: fleetOf().session,
      body: { username: user, password: "a fleet password 1", role: "viewer" },
    });
    expect(created.status).toBe(201);
    const attempt = (from: string, secret: string) =>
      call(next().url, "POST", "/api/auth/login", {
        tenant: TENANT,
        from,
        body: { username: user, password: secret },
        timeoutMs: 30_000,
      });
    // Five wrong guesses from one address, spread over the instances; the sixth is refused anywhere.
    for (let i = 0; i < 5; i++) expect((await attempt("127.0.0.50", "guess")).status).toBe(401);
    for (const _ of fleetNow()) expect((await attempt("127.0.0.50", "a fleet password 1")).status).toBe(429);
    // Wrong guesses from five more addresses (the lock-out of the issue), then the right password from a
    // new address: slowed down, signed in.
    for (let i = 0; i < 5; i++) expect((await attempt(`127.0.0.${60 + i}`, "guess")).status).toBe(401);
    expect((await attempt("127.0.0.90", "a fleet password 1")).status).toBe(200);
  }, 120_000);

  it("agrees on the latest 100 everywhere, a late point and a same-timestamp overwrite included", async () => {
    const devices = await createDevices(next().url, {
      tenant: TENANT,
      session: fleetOf().session,
      count: DEVICES,
    });
    const now = Date.now();
    const latestOn = async (server: ServeProcess, id: string) =>
      body<{ points: Array<{ timestamp_ms: number; metrics: Record<string, number> }> }>(
        await call(server.url, "GET", `/api/devices/${id}/telemetry?limit=100`, {
          tenant: TENANT,
          session: fleetOf().session,
        }),
      ).points;
    for (const device of devices) {
      const write = (points: Array<{ timestamp_ms: number; metrics: Record<string, number> }>) =>
        call(fleetNow()[0]!.url, "POST", `/api/devices/${device.id}/telemetry`, {
          tenant: TENANT,
          bearer: device.token,
          body: { points },
        });
      expect(
        (await write([10, 20, 30].map((ago) => ({ timestamp_ms: now - ago * 1000, metrics: { v: ago } }))))
          .status,
      ).toBe(202);
      // Every instance loads (and caches) the device's latest points.
      for (const server of fleetNow()) expect(await latestOn(server, device.id)).toHaveLength(3);
      // Through instance A: a point older than all held, and a rewrite of the newest one.
      expect(
        (
          await write([
            { timestamp_ms: now - 60_000, metrics: { v: 60 } },
            { timestamp_ms: now - 10_000, metrics: { v: -10 } },
          ])
        ).status,
      ).toBe(202);
      const window = body<{ points: unknown[] }>(
        await call(fleetNow()[1]!.url, "GET", `/api/devices/${device.id}/telemetry?from=0&limit=100`, {
          tenant: TENANT,
          session: fleetOf().session,
        }),
      ).points;
      expect(window).toHaveLength(4);
      // A poll at least a second after the last refresh (the cache's minimum) refreshes: on B and C,
      // the first such poll after the write shows both.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      for (const server of fleetNow().slice(1)) {
        const points = await latestOn(server, device.id);
        expect(points).toEqual(window);
        expect(points[0]).toMatchObject({ timestamp_ms: now - 10_000, metrics: { v: -10 } });
        expect(points.at(-1)).toMatchObject({ timestamp_ms: now - 60_000 });
      }
    }
  }, 120_000);

  it("stops a rotated, then a deleted, device token on every instance", async () => {
    const [device] = await createDevices(next().url, {
      tenant: TENANT,
      session: fleetOf().session,
      count: 1,
    });
    const writeOn = (server: ServeProcess, token: string) =>
      call(server.url, "POST", `/api/devices/${device!.id}/telemetry`, {
        tenant: TENANT,
        bearer: token,
        body: { points: [{ timestamp_ms: Date.now() - 1000, metrics: { v: 1 } }] },
      });
    // A probe the token check answers before anything else: 401 once refused, 400 (an empty batch,
    // refused after authentication) while still accepted; it spends none of the device's minute.
    const probeOn = async (server: ServeProcess, token: string) =>
      (
        await call(server.url, "POST", `/api/devices/${device!.id}/telemetry`, {
          tenant: TENANT,
          bearer: token,
          body: { points: [] },
        })
      ).status;
    // B and C authenticate the device (and cache it).
    for (const server of fleetNow().slice(1)) expect((await writeOn(server, device!.token)).status).toBe(202);
    for (const server of fleetNow()) expect(await probeOn(server, device!.token)).toBe(400);
    const rotated = await call(fleetNow()[0]!.url, "POST", `/api/devices/${device!.id}/token`, {
      tenant: TENANT,
      session: fleetOf().session,
    });
    expect(rotated.status).toBe(200);
    const token = body<{ token: string }>(rotated).token;
    const changedAt = Date.now();
    for (const server of fleetNow()) {
      await eventually(
        async () => ((await probeOn(server, device!.token)) === 401 ? true : undefined),
        20_000,
        "the old token refused",
      );
    }
    console.log(`rotation: the old token refused everywhere ${Date.now() - changedAt} ms after the rotation`);
    expect((await writeOn(fleetNow()[2]!, token)).status).toBe(202);
    const deleted = await call(fleetNow()[0]!.url, "DELETE", `/api/devices/${device!.id}`, {
      tenant: TENANT,
      session: fleetOf().session,
    });
    expect(deleted.status).toBe(200);
    for (const server of fleetNow()) {
      await eventually(
        async () => ((await probeOn(server, token)) === 401 ? true : undefined),
        20_000,
        "the deleted device refused",
      );
    }
  }, 120_000);
}
