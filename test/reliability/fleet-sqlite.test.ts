// The embedded default as a fleet (docs/design/fleet.md): three `firebrick serve` processes on one host,
// sharing one data dir and no Firestore at all, agree through the SQLite file as instances on Firestore
// agree through Firestore: the saved flags, the device write limit, a sign-in budget, "latest 100" with
// a late point and an overwrite, and a rotated or deleted device token.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../packages/server/src/config/env.js";
import { type OpenedStores, openStores } from "../../packages/server/src/runtime/open-stores.js";
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
const BURST = scaled(12, 30);
const dataDir = mkdtempSync(join(tmpdir(), "firebrick-fleet-sqlite-"));
const servers: ServeProcess[] = [];
let session = "";
let turn = 0;
const next = () => servers[turn++ % servers.length]!;
const body = <T>(reply: Reply) => reply.body as T;
let operator: OpenedStores;

afterAll(async () => {
  killServers();
  await operator?.close();
});

beforeAll(async () => {
  servers.push(await serve({ FIREBRICK_DATA_DIR: dataDir }));
  const password = firstRunPassword(servers[0]!);
  servers.push(...(await Promise.all([1, 2].map(() => serve({ FIREBRICK_DATA_DIR: dataDir })))));
  const login = await call(next().url, "POST", "/api/auth/login", {
    tenant: TENANT,
    body: { username: "admin", password },
  });
  expect(login.status).toBe(200);
  session = login.session!;
  operator = await openStores(loadConfig({ FIREBRICK_DATA_DIR: dataDir }));
}, 180_000);

describe("three processes sharing one SQLite data dir", () => {
  it("agree on the saved flags: a change saved by one process is in force in the others", async () => {
    // Without Firestore no area can move; the saved flags (here the dual-write window's) still agree.
    await operator.fleet.flags.update(
      operator.flags.current(),
      (flags) => ({ ...flags, telemetry_dual_write: true }),
      "test",
      Date.now(),
    );
    for (const server of servers) {
      await eventually(async () => {
        const flags = body<{ flags: Record<string, boolean> }>(
          await call(server.url, "GET", "/api/admin/flags", { tenant: TENANT, session }),
        ).flags;
        return flags.telemetry_dual_write ? true : undefined;
      });
    }
  });

  it("hold the device write limit together", async () => {
    const [device] = await createDevices(next().url, { tenant: TENANT, session, count: 1 });
    const now = Date.now();
    const statuses = (
      await Promise.all(
        Array.from({ length: BURST }, (_, i) =>
          call(next().url, "POST", `/api/devices/${device!.id}/telemetry`, {
            tenant: TENANT,
            bearer: device!.token,
            body: { points: [{ timestamp_ms: now - 60_000 + i, metrics: { t: i } }] },
          }),
        ),
      )
    ).map((reply) => reply.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(5);
    expect(statuses.filter((s) => s !== 202 && s !== 429)).toEqual([]);
  });

  it("hold a (username, address) sign-in budget together", async () => {
    const attempt = (password: string) =>
      call(next().url, "POST", "/api/auth/login", {
        tenant: TENANT,
        from: "127.0.0.70",
        body: { username: "admin", password },
      });
    for (let i = 0; i < 5; i++) expect((await attempt("not the password")).status).toBe(401);
    for (const _ of servers) expect((await attempt("not the password")).status).toBe(429);
  });

  it("agree on the latest 100, a late point and an overwrite included", async () => {
    const [device] = await createDevices(next().url, { tenant: TENANT, session, count: 1 });
    const now = Date.now();
    const write = (points: Array<{ timestamp_ms: number; metrics: Record<string, number> }>) =>
      call(servers[0]!.url, "POST", `/api/devices/${device!.id}/telemetry`, {
        tenant: TENANT,
        bearer: device!.token,
        body: { points },
      });
    const latestOn = async (server: ServeProcess) =>
      body<{ points: unknown[] }>(
        await call(server.url, "GET", `/api/devices/${device!.id}/telemetry?limit=100`, {
          tenant: TENANT,
          session,
        }),
      ).points;
    expect((await write([{ timestamp_ms: now - 10_000, metrics: { v: 1 } }])).status).toBe(202);
    for (const server of servers) expect(await latestOn(server)).toHaveLength(1);
    expect(
      (
        await write([
          { timestamp_ms: now - 60_000, metrics: { v: 60 } },
          { timestamp_ms: now - 10_000, metrics: { v: -1 } },
        ])
      ).status,
    ).toBe(202);
    const expected = [
      { timestamp_ms: now - 10_000, metrics: { v: -1 } },
      { timestamp_ms: now - 60_000, metrics: { v: 60 } },
    ];
    // The cache refreshes at most once a second: wait for the poll after that.
    for (const server of servers.slice(1)) {
      await eventually(async () =>
        JSON.stringify(await latestOn(server)) === JSON.stringify(expected) ? true : undefined,
      );
    }
  });

  it("stop a rotated, then a deleted, device token in every process", async () => {
    const [device] = await createDevices(next().url, { tenant: TENANT, session, count: 1 });
    const probe = async (server: ServeProcess, token: string) =>
      (
        await call(server.url, "POST", `/api/devices/${device!.id}/telemetry`, {
          tenant: TENANT,
          bearer: token,
          body: { points: [] },
        })
      ).status;
    for (const server of servers) expect(await probe(server, device!.token)).toBe(400);
    const rotated = await call(servers[0]!.url, "POST", `/api/devices/${device!.id}/token`, {
      tenant: TENANT,
      session,
    });
    const token = body<{ token: string }>(rotated).token;
    for (const server of servers) {
      await eventually(async () => ((await probe(server, device!.token)) === 401 ? true : undefined));
      expect(await probe(server, token)).toBe(400);
    }
    await call(servers[0]!.url, "DELETE", `/api/devices/${device!.id}`, { tenant: TENANT, session });
    for (const server of servers) {
      await eventually(async () => ((await probe(server, token)) === 401 ? true : undefined));
    }
  });
});
