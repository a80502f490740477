import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../config/env.js";
import { createLogger } from "../../observability/logger.js";
import { startServer } from "../../server.js";
import { testPasswords } from "../../testing/service.js";
import { runCli } from "../testing/run-cli.js";

const quiet = () => createLogger("silent");

describe("firebrick tenants, users and devices", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "firebrick-cli-"));
  const env = { FIREBRICK_DATA_DIR: dataDir };
  const cli = (args: string[], stdin?: string) =>
    runCli(args, { env, ...(stdin !== undefined && { stdin }) });

  it("creates a tenant (0), refuses it twice (1) and refuses a malformed id (2)", async () => {
    expect(await cli(["tenants", "create", "acme"])).toMatchObject({
      code: 0,
      stdout: "created tenant acme\n",
    });
    const again = await cli(["tenants", "create", "acme"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('firebrick: tenant "acme" exists already\n');
    expect((await cli(["tenants", "create", "no/slashes"])).code).toBe(2);
  }, 60_000);

  it("creates users with the password from stdin, never from argv, and lists them", async () => {
    const created = await cli(
      ["users", "create", "--tenant", "acme", "--username", "olga", "--role", "operator", "--password-stdin"],
      "a long enough password\n",
    );
    expect(created.code, created.stderr).toBe(0);
    expect(
      (
        await cli([
          "users",
          "create",
          "--tenant",
          "acme",
          "--username",
          "x",
          "--role",
          "viewer",
          "--password",
          "hunter2hunter2",
        ])
      ).code,
    ).toBe(2);
    const noTerminal = await cli([
      "users",
      "create",
      "--tenant",
      "acme",
      "--username",
      "y",
      "--role",
      "viewer",
    ]);
    expect(noTerminal.code).toBe(2);
    expect(noTerminal.stderr).toContain("--password-stdin");
    const short = await cli(
      ["users", "create", "--tenant", "acme", "--username", "z", "--role", "viewer", "--password-stdin"],
      "short\n",
    );
    expect(short.code).toBe(2);
    expect(
      (
        await cli(
          ["users", "create", "--tenant", "acme", "--username", "w", "--role", "king", "--password-stdin"],
          "x\n",
        )
      ).code,
    ).toBe(2);
    const list = await cli(["users", "list", "--tenant", "acme", "--json"]);
    expect(JSON.parse(list.stdout).users).toEqual([
      expect.objectContaining({ username: "olga", role: "operator" }),
    ]);
    expect(list.stdout).not.toContain("argon2");
  }, 60_000);

  it("changes a role with set-role, and fails with 1 for an unknown user", async () => {
    expect(
      (await cli(["users", "set-role", "--tenant", "acme", "--username", "olga", "--role", "viewer"])).code,
    ).toBe(0);
    const list = await cli(["users", "list", "--tenant", "acme", "--json"]);
    expect(JSON.parse(list.stdout).users[0].role).toBe("viewer");
    expect(
      (await cli(["users", "set-role", "--tenant", "acme", "--username", "nobody", "--role", "viewer"])).code,
    ).toBe(1);
  }, 60_000);

  it("creates a device whose printed token writes telemetry to the running service", async () => {
    const created = await cli(["devices", "create", "--tenant", "acme", "--name", "AHU-1", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const { device, token } = JSON.parse(created.stdout);
    expect(device).toMatchObject({ name: "AHU-1", tenant_id: "acme" });
    expect((await cli(["devices", "create", "--tenant", "nope", "--name", "X"])).code).toBe(1);

    const server = await startServer(loadConfig({ ...env, PORT: "0" }), quiet(), {
      passwords: testPasswords(),
    });
    try {
      const response = await fetch(`${server.url}/api/devices/${device.id}/telemetry`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-bas-tenant": "acme",
          authorization: `Bearer ${token}`,
        },
        body: JSON.stringify({ points: [{ timestamp_ms: Date.now(), metrics: { supply_air_c: 14.2 } }] }),
      });
      expect(response.status).toBe(202);
    } finally {
      await server.close();
    }
  }, 60_000);
});

describe("firebrick tenants list, users delete|reset-password, devices list|delete|rotate-token", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "firebrick-cli-"));
  const env = { FIREBRICK_DATA_DIR: dataDir };
  const cli = (args: string[], stdin?: string) =>
    runCli(args, { env, ...(stdin !== undefined && { stdin }) });
  const rows = (stdout: string) => stdout.trimEnd().split("\n");

  it("lists tenants, users and devices under a header row, and as JSON with --json", async () => {
    expect((await cli(["tenants", "list"])).stdout).toMatch(/^ID +NAME +CREATED\n$/);
    await cli(["tenants", "create", "zeta", "--name", "Zeta Corp"]);
    await cli(["tenants", "create", "alpha"]);
    const tenants = await cli(["tenants", "list"]);
    expect(tenants.code).toBe(0);
    expect(rows(tenants.stdout).map((row) => row.split(/ {2,}/).slice(0, 2))).toEqual([
      ["ID", "NAME"],
      ["alpha", "alpha"],
      ["zeta", "Zeta Corp"],
    ]);
    expect(JSON.parse((await cli(["tenants", "list", "--json"])).stdout).tenants).toEqual([
      expect.objectContaining({ id: "alpha" }),
      expect.objectContaining({ id: "zeta", name: "Zeta Corp" }),
    ]);

    const emptyUsers = await cli(["users", "list", "--tenant", "alpha"]);
    expect([emptyUsers.stdout, emptyUsers.stderr]).toEqual([
      "ID  ROLE  USERNAME  CREATED\n",
      "no users in alpha\n",
    ]);
    await cli(
      ["users", "create", "--tenant", "alpha", "--username", "olga", "--role", "admin", "--password-stdin"],
      "the first password\n",
    );
    const users = rows((await cli(["users", "list", "--tenant", "alpha"])).stdout);
    expect(users[0]).toMatch(/^ID +ROLE +USERNAME +CREATED$/);
    expect(users[1]).toMatch(/^[0-9a-f-]{36} +admin +olga +\d{4}-\d\d-\d\dT/);

    await cli(["devices", "create", "--tenant", "alpha", "--name", "VAV-10"]);
    await cli(["devices", "create", "--tenant", "alpha", "--name", "VAV-9"]);
    const devices = rows((await cli(["devices", "list", "--tenant", "alpha"])).stdout);
    expect(devices[0]).toMatch(/^ID +NAME +CREATED +TOKEN ROTATED$/);
    // By name, numbers in names compared as numbers.
    expect(devices.slice(1).map((row) => row.split(/ {2,}/)[1])).toEqual(["VAV-9", "VAV-10"]);
    const json = JSON.parse((await cli(["devices", "list", "--tenant", "alpha", "--json"])).stdout);
    expect(json.devices.map((device: { name: string }) => device.name)).toEqual(["VAV-9", "VAV-10"]);
    expect(JSON.stringify(json)).not.toContain("token_hash");
    expect((await cli(["devices", "list", "--tenant", "nope"])).code).toBe(1);
  }, 90_000);

  it("refuses a device name already taken in the tenant (exit 1) unless --allow-duplicate-name", async () => {
    const again = await cli(["devices", "create", "--tenant", "alpha", "--name", "VAV-9"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      /^firebrick: a device named "VAV-9" exists already in alpha \([0-9a-f-]{36}\)/,
    );
    expect(again.stderr).toContain("--allow-duplicate-name");
    const allowed = await cli([
      "devices",
      "create",
      "--tenant",
      "alpha",
      "--name",
      "VAV-9",
      "--allow-duplicate-name",
    ]);
    expect(allowed.code, allowed.stderr).toBe(0);
    // Another tenant's names do not count.
    expect((await cli(["devices", "create", "--tenant", "zeta", "--name", "VAV-9"])).code).toBe(0);
  }, 60_000);

  it("rotates a device's token and deletes a device: the old token stops working, the new one writes", async () => {
    const created = JSON.parse(
      (await cli(["devices", "create", "--tenant", "alpha", "--name", "AHU-7", "--json"])).stdout,
    );
    const rotated = await cli([
      "devices",
      "rotate-token",
      "--tenant",
      "alpha",
      "--id",
      created.device.id,
      "--json",
    ]);
    expect(rotated.code, rotated.stderr).toBe(0);
    const { token } = JSON.parse(rotated.stdout);
    expect(token).not.toBe(created.token);
    expect((await cli(["devices", "rotate-token", "--tenant", "alpha", "--id", "not-a-uuid"])).code).toBe(2);
    expect((await cli(["devices", "rotate-token", "--tenant", "zeta", "--id", created.device.id])).code).toBe(
      1,
    );

    const server = await startServer(loadConfig({ ...env, PORT: "0" }), quiet(), {
      passwords: testPasswords(),
    });
    try {
      const write = (bearer: string) =>
        fetch(`${server.url}/api/devices/${created.device.id}/telemetry`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-bas-tenant": "alpha",
            authorization: `Bearer ${bearer}`,
          },
          body: JSON.stringify({ points: [{ timestamp_ms: Date.now(), metrics: { supply_air_c: 14 } }] }),
        });
      expect((await write(created.token)).status).toBe(401);
      expect((await write(token)).status).toBe(202);
    } finally {
      await server.close();
    }

    const deleted = await cli(["devices", "delete", "--tenant", "alpha", "--id", created.device.id]);
    expect([deleted.code, deleted.stdout]).toEqual([
      0,
      `deleted device ${created.device.id} (AHU-7) in alpha\n`,
    ]);
    expect((await cli(["devices", "delete", "--tenant", "alpha", "--id", created.device.id])).code).toBe(1);
  }, 90_000);

  it("resets a password from stdin (never argv) and signs the user out; deletes a user", async () => {
    const server = await startServer(loadConfig({ ...env, PORT: "0" }), quiet(), {
      passwords: testPasswords(),
    });
    try {
      const login = (password: string) =>
        fetch(`${server.url}/api/auth/login`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-bas-tenant": "alpha" },
          body: JSON.stringify({ username: "olga", password }),
        });
      const signedIn = await login("the first password");
      expect(signedIn.status).toBe(200);
      const cookie = signedIn.headers.getSetCookie()[0]!.split(";")[0]!;
      const me = () => fetch(`${server.url}/api/auth/me`, { headers: { "x-bas-tenant": "alpha", cookie } });
      expect((await me()).status).toBe(200);

      const viaArgv = await cli([
        "users",
        "reset-password",
        "--tenant",
        "alpha",
        "--username",
        "olga",
        "--password",
        "the second password",
      ]);
      expect(viaArgv.code).toBe(2);
      const noTerminal = await cli(["users", "reset-password", "--tenant", "alpha", "--username", "olga"]);
      expect([noTerminal.code, noTerminal.stderr]).toEqual([
        2,
        "firebrick: no terminal to prompt for the password: pipe it in with --password-stdin\n",
      ]);
      const reset = await cli(
        ["users", "reset-password", "--tenant", "alpha", "--username", "olga", "--password-stdin"],
        "the second password\n",
      );
      expect([reset.code, reset.stdout]).toEqual([
        0,
        "new password set for olga in alpha (1 session(s) revoked)\n",
      ]);
      expect((await me()).status).toBe(401);
      expect((await login("the first password")).status).toBe(401);
      expect((await login("the second password")).status).toBe(200);
      expect(
        (
          await cli(
            ["users", "reset-password", "--tenant", "alpha", "--username", "nobody", "--password-stdin"],
            "x\n",
          )
        ).code,
      ).toBe(1);

      const deleted = await cli(["users", "delete", "--tenant", "alpha", "--username", "olga"]);
      expect([deleted.code, deleted.stdout]).toEqual([0, "deleted olga from alpha (1 session(s) revoked)\n"]);
      expect((await login("the second password")).status).toBe(401);
      expect((await cli(["users", "delete", "--tenant", "alpha", "--username", "olga"])).code).toBe(1);
    } finally {
      await server.close();
    }
  }, 90_000);
});
