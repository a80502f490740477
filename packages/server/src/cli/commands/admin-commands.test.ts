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
