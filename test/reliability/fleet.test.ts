// The fleet (issue 14, docs/design/fleet.md): three `firebrick serve` processes on one Firestore
// (emulator) project, each with its own throw-away data dir, requests spread over them round-robin as a
// load balancer would. Every point of the contract: a flag change reaches every instance; a tenant's admin
// cannot change routing; the device write limit and the sign-in budgets hold for the fleet; "latest 100"
// agrees everywhere, late points and overwrites included; a rotated or deleted token stops working
// everywhere; and an instance killed and replaced by one with an empty data dir loses and changes nothing.
// Times are logged, never asserted: the bench measures them (bench/phases/fleet.ts).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../packages/server/src/cli/testing/run-cli.js";
import { emulatorHost, uniqueProjectId } from "../firestore.js";
import {
  call,
  createDevices,
  eventually,
  firstRunPassword,
  killServers,
  type Reply,
  type ServeProcess,
  scaled,
  serve,
} from "./support.js";

const TENANT = "demo";
/** Limit checks: concurrent writes to one device, spread over the instances. */
const BURST = scaled(12, 30);
/** Latest-100 agreement: devices checked. */
const DEVICES = scaled(1, 4);

const project = uniqueProjectId("fleet");
const env = (label: string): Record<string, string> => ({
  FIREBRICK_DATA_DIR: mkdtempSync(join(tmpdir(), `firebrick-fleet-${label}-`)),
  FIRESTORE_EMULATOR_HOST: emulatorHost(),
  GOOGLE_CLOUD_PROJECT: project,
  USE_FIRESTORE_TELEMETRY: "1",
  USE_FIRESTORE_AUDIT: "1",
  USE_FIRESTORE_AUTH: "1",
});
/** The platform operator's command line, on a machine of its own (its own data dir). */
const operator = (args: string[]) => runCli(args, { env: env("operator") });

const fleet: ServeProcess[] = [];
let password = "";
let session = "";
let turn = 0;
/** The next instance, round-robin: what a load balancer in front of the fleet does. */
const next = () => fleet[turn++ % fleet.length]!;
const body = <T>(reply: Reply) => reply.body as T;

afterAll(killServers);

beforeAll(async () => {
  // The first instance creates the demo tenant and its admin; the others find them there.
  fleet.push(await serve(env("a")));
  password = firstRunPassword(fleet[0]!);
  fleet.push(...(await Promise.all([serve(env("b")), serve(env("c"))])));
  for (const other of fleet.slice(1)) expect(other.stderr()).not.toContain("First run");
  const login = await call(next().url, "POST", "/api/auth/login", {
    tenant: TENANT,
    body: { username: "admin", password },
  });
  expect(login.status).toBe(200);
  session = login.session!;
}, 180_000);

const flagsOn = async (server: ServeProcess) =>
  body<{ stores: Record<string, string> }>(
    await call(server.url, "GET", "/api/admin/flags", { tenant: TENANT, session }),
  ).stores;

describe("a fleet of three instances on one Firestore project", () => {
  it("lets only the platform operator change routing; every instance applies the change", async () => {
    // A tenant admin's PUT, on every instance: 403, and nothing moves.
    for (const server of fleet) {
      const refused = await call(server.url, "PUT", "/api/admin/flags", {
        tenant: TENANT,
        session,
        body: { auth: false },
      });
      expect(refused.status).toBe(403);
      expect(body<{ error: { code: string } }>(refused).error.code).toBe("FORBIDDEN");
    }
    for (const server of fleet)
      expect(await flagsOn(server)).toEqual({
        telemetry: "firestore",
        audit: "firestore",
        auth: "firestore",
      });

    // The operator moves the audit log back to SQLite (a rollback), then to Firestore again.
    for (const [value, store] of [
      ["off", "sqlite"],
      ["on", "firestore"],
    ] as const) {
      const set = await operator(["flags", "set", `audit=${value}`]);
      expect(set.code, set.stderr).toBe(0);
      const changedAt = Date.now();
      for (const server of fleet) {
        await eventually(
          async () => ((await flagsOn(server)).audit === store ? true : undefined),
          20_000,
          `audit on ${store}`,
        );
      }
      console.log(
        `audit=${value}: every instance applied it ${Date.now() - changedAt} ms after the command returned`,
      );
    }
    const platform = await operator(["audit", "--platform", "--json"]);
    const entries = (JSON.parse(platform.stdout) as { entries: Array<{ action: string; outcome: string }> })
      .entries;
    expect(entries.filter((e) => e.action === "flags.update")).toHaveLength(2);
    expect(entries.filter((e) => e.action === "flags.update_denied" && e.outcome === "denied")).toHaveLength(
      3,
    );
    // The tenant's own log shows the changes that moved its data, and the refused attempts.
    const tenantLog = await call(next().url, "GET", "/api/audit?action=flags.update&limit=10", {
      tenant: TENANT,
      session,
    });
    expect(body<{ entries: unknown[] }>(tenantLog).entries.length).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it("holds the device write limit for the fleet: a burst over three instances gets exactly one minute's points", async () => {
    const [device] = await createDevices(next().url, { tenant: TENANT, session, count: 1 });
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
      `${BURST} concurrent writes over 3 instances: ${statuses.filter((s) => s === 202).length} accepted`,
    );
    expect(statuses.filter((s) => s === 202)).toHaveLength(5);
    expect(statuses.filter((s) => s !== 202 && s !== 429)).toEqual([]);
    // Refused everywhere now, whichever instance it reaches.
    for (const server of fleet) {
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
      session,
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
    for (const _ of fleet) expect((await attempt("127.0.0.50", "a fleet password 1")).status).toBe(429);
    // Wrong guesses from five more addresses (the lock-out of the issue), then the right password from a
    // new address: slowed down, signed in.
    for (let i = 0; i < 5; i++) expect((await attempt(`127.0.0.${60 + i}`, "guess")).status).toBe(401);
    expect((await attempt("127.0.0.90", "a fleet password 1")).status).toBe(200);
  }, 120_000);

  it("agrees on the latest 100 everywhere, a late point and a same-timestamp overwrite included", async () => {
    const devices = await createDevices(next().url, { tenant: TENANT, session, count: DEVICES });
    const now = Date.now();
    const latestOn = async (server: ServeProcess, id: string) =>
      body<{ points: Array<{ timestamp_ms: number; metrics: Record<string, number> }> }>(
        await call(server.url, "GET", `/api/devices/${id}/telemetry?limit=100`, { tenant: TENANT, session }),
      ).points;
    for (const device of devices) {
      const write = (points: Array<{ timestamp_ms: number; metrics: Record<string, number> }>) =>
        call(fleet[0]!.url, "POST", `/api/devices/${device.id}/telemetry`, {
          tenant: TENANT,
          bearer: device.token,
          body: { points },
        });
      expect(
        (await write([10, 20, 30].map((ago) => ({ timestamp_ms: now - ago * 1000, metrics: { v: ago } }))))
          .status,
      ).toBe(202);
      // Every instance loads (and caches) the device's latest points.
      for (const server of fleet) expect(await latestOn(server, device.id)).toHaveLength(3);
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
        await call(fleet[1]!.url, "GET", `/api/devices/${device.id}/telemetry?from=0&limit=100`, {
          tenant: TENANT,
          session,
        }),
      ).points;
      expect(window).toHaveLength(4);
      // A poll at least a second after the last refresh (the cache's minimum) refreshes: on B and C,
      // the first such poll after the write shows both.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      for (const server of fleet.slice(1)) {
        const points = await latestOn(server, device.id);
        expect(points).toEqual(window);
        expect(points[0]).toMatchObject({ timestamp_ms: now - 10_000, metrics: { v: -10 } });
        expect(points.at(-1)).toMatchObject({ timestamp_ms: now - 60_000 });
      }
    }
  }, 120_000);

  it("stops a rotated, then a deleted, device token on every instance", async () => {
    const [device] = await createDevices(next().url, { tenant: TENANT, session, count: 1 });
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
    for (const server of fleet.slice(1)) expect((await writeOn(server, device!.token)).status).toBe(202);
    for (const server of fleet) expect(await probeOn(server, device!.token)).toBe(400);
    const rotated = await call(fleet[0]!.url, "POST", `/api/devices/${device!.id}/token`, {
      tenant: TENANT,
      session,
    });
    expect(rotated.status).toBe(200);
    const token = body<{ token: string }>(rotated).token;
    const changedAt = Date.now();
    for (const server of fleet) {
      await eventually(
        async () => ((await probeOn(server, device!.token)) === 401 ? true : undefined),
        20_000,
        "the old token refused",
      );
    }
    console.log(`rotation: the old token refused everywhere ${Date.now() - changedAt} ms after the rotation`);
    expect((await writeOn(fleet[2]!, token)).status).toBe(202);
    const deleted = await call(fleet[0]!.url, "DELETE", `/api/devices/${device!.id}`, {
      tenant: TENANT,
      session,
    });
    expect(deleted.status).toBe(200);
    for (const server of fleet) {
      await eventually(
        async () => ((await probeOn(server, token)) === 401 ? true : undefined),
        20_000,
        "the deleted device refused",
      );
    }
  }, 120_000);

  it("loses and changes nothing when an instance is killed and a new one starts with an empty data dir", async () => {
    const [device] = await createDevices(next().url, { tenant: TENANT, session, count: 1 });
    const now = Date.now();
    expect(
      (
        await call(next().url, "POST", `/api/devices/${device!.id}/telemetry`, {
          tenant: TENANT,
          bearer: device!.token,
          body: { points: [1, 2, 3, 4, 5].map((i) => ({ timestamp_ms: now - i * 1000, metrics: { v: i } })) },
        })
      ).status,
    ).toBe(202);
    const before = {
      flags: await flagsOn(fleet[0]!),
      latest: (
        await call(fleet[0]!.url, "GET", `/api/devices/${device!.id}/telemetry?limit=100`, {
          tenant: TENANT,
          session,
        })
      ).body,
      audit: (await call(fleet[0]!.url, "GET", "/api/audit?limit=1000", { tenant: TENANT, session })).body,
    };
    const victim = fleet.pop()!;
    const exited = new Promise((resolve) => victim.child.once("exit", resolve));
    victim.child.kill("SIGKILL");
    await exited;
    const replacement = await serve(env("replacement"));
    fleet.push(replacement);
    // No first run (the tenant and its admin are there), the same session, flags, points and log.
    expect(replacement.stderr()).not.toContain("First run");
    expect(await flagsOn(replacement)).toEqual(before.flags);
    expect((await call(replacement.url, "GET", "/api/auth/me", { tenant: TENANT, session })).status).toBe(
      200,
    );
    expect(
      (
        await call(replacement.url, "GET", `/api/devices/${device!.id}/telemetry?limit=100`, {
          tenant: TENANT,
          session,
        })
      ).body,
    ).toEqual(before.latest);
    const audit = body<{ entries: Array<{ id: string }> }>(
      await call(replacement.url, "GET", "/api/audit?limit=1000", { tenant: TENANT, session }),
    ).entries.map((e) => e.id);
    const auditBefore = (before.audit as { entries: Array<{ id: string }> }).entries.map((e) => e.id);
    expect(audit).toEqual(expect.arrayContaining(auditBefore));
    // The device's minute is spent (5 points): the limit lives in Firestore, not in the dead instance.
    const over = await call(replacement.url, "POST", `/api/devices/${device!.id}/telemetry`, {
      tenant: TENANT,
      bearer: device!.token,
      body: { points: [{ timestamp_ms: now, metrics: { v: 0 } }] },
    });
    expect(over.status).toBe(429);
    expect(
      (
        await call(replacement.url, "POST", "/api/auth/login", {
          tenant: TENANT,
          body: { username: "admin", password },
        })
      ).status,
    ).toBe(200);
  }, 180_000);
});
