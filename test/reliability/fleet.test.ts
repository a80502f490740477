// The fleet (issue 14, docs/design/fleet.md): three `firebrick serve` processes on one Firestore
// (emulator) project, each with its own throw-away data dir, requests spread over them round-robin as a
// load balancer would. Every point of the contract: the platform operator's flag change reaches every
// instance and a tenant's admin cannot change routing; the shared contract (fleet-contract.ts: limits,
// "latest 100" agreement, token revocation); and an instance killed and replaced by one with an empty
// data dir loses and changes nothing. Times are logged, never asserted: the bench measures them.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../packages/server/src/cli/testing/run-cli.js";
import { emulatorHost, uniqueProjectId } from "../firestore.js";
import { describeFleetContract } from "./fleet-contract.js";
import {
  call,
  createDevices,
  eventually,
  killServers,
  type Reply,
  type ServeProcess,
  serve,
  startFleet,
} from "./support.js";

const TENANT = "demo";

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
  const started = await startFleet(3, (i) => env(`instance-${i}`));
  fleet.push(...started.servers);
  ({ password, session } = started);
  for (const other of fleet.slice(1)) expect(other.stderr()).not.toContain("First run");
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

  describeFleetContract(() => ({ servers: fleet, session }));

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
