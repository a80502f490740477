import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { runCli, spawnCli } from "../testing/run-cli.js";

const tempDir = () => mkdtempSync(join(tmpdir(), "firebrick-simulate-"));

describe("firebrick simulate", () => {
  it("exits 2 with one line for a bad option", async () => {
    const result = await runCli(["simulate", "--devices", "0"], { env: { FIREBRICK_DATA_DIR: tempDir() } });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('firebrick: --devices must be an integer from 1 to 1000 (got "0")');

    const noPassword = await runCli(["simulate", "--devices", "1", "--username", "admin"], {
      env: { FIREBRICK_DATA_DIR: tempDir(), SIMULATE_PASSWORD: "" },
    });
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr.trim()).toBe(
      "firebrick: --username needs --password-stdin or SIMULATE_PASSWORD",
    );
  });

  it("without credentials and without stored device tokens names --username and --password-stdin (exit 2)", async () => {
    const result = await runCli(["simulate", "--devices", "1", "--url", "http://127.0.0.1:9"], {
      env: { FIREBRICK_DATA_DIR: tempDir(), SIMULATE_USERNAME: "", SIMULATE_PASSWORD: "" },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^firebrick: 1 of 1 devices are not in .*simulator-devices\.json/);
    expect(result.stderr).toContain(
      "pass --username <admin> --password-stdin (or set SIMULATE_USERNAME and SIMULATE_PASSWORD)",
    );
  });

  it("exits 1 with one line when the server cannot be reached", async () => {
    const result = await runCli(
      [
        "simulate",
        "--devices",
        "1",
        "--url",
        "http://127.0.0.1:9",
        "--username",
        "admin",
        "--password-stdin",
      ],
      { env: { FIREBRICK_DATA_DIR: tempDir() }, stdin: "secret\n" },
    );
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(/^firebrick: cannot reach http:\/\/127\.0\.0\.1:9: /);
    expect(result.stderr).not.toContain("secret");
  });

  it("--serve runs the one-command demo: a server, a demo admin who can sign in, and live devices", async () => {
    const dataDir = tempDir();
    const child = spawnCli(["simulate", "--serve", "--devices", "2"], {
      env: { FIREBRICK_DATA_DIR: dataDir, PORT: "0" },
    });
    const lines: string[] = [];
    const url = await new Promise<string>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`exited early with ${code}: ${lines.join("\n")}`)));
      createInterface({ input: child.stdout }).on("line", (line) => {
        lines.push(line);
        const match = line.match(
          /^Firebrick demo: open (http:\/\/\S+)\/ and sign in with tenant "demo", username "demo", password "firebrick-demo"\.$/,
        );
        if (match) resolve(match[1]!);
      });
    });
    const login = await fetch(`${url}/api/auth/login`, {
      method: "POST",
      headers: { "x-bas-tenant": "demo", "content-type": "application/json" },
      body: JSON.stringify({ username: "demo", password: "firebrick-demo" }),
    });
    expect(login.status).toBe(200);
    expect((await login.json()).user).toMatchObject({ username: "demo", role: "admin", tenant_id: "demo" });
    const cookie = login.headers.getSetCookie()[0]!.split(";")[0]!;

    // The devices appear with their backfilled history: 100 readings each, within the demo's budget.
    const readings = async () => {
      const response = await fetch(`${url}/api/devices`, { headers: { "x-bas-tenant": "demo", cookie } });
      const { devices } = (await response.json()) as { devices: { id: string; name: string }[] };
      const counts = await Promise.all(
        devices.map(async (device) => {
          const points = await fetch(`${url}/api/devices/${device.id}/telemetry?limit=100`, {
            headers: { "x-bas-tenant": "demo", cookie },
          });
          return ((await points.json()) as { points: unknown[] }).points.length;
        }),
      );
      return { names: devices.map((device) => device.name).sort(), counts };
    };
    await expect.poll(readings, { timeout: 15_000, interval: 500 }).toEqual({
      names: ["Zone 1.01 Reception", "Zone 1.02 Open office"],
      counts: [100, 100],
    });

    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(lines.at(-1)).toMatch(/^stopped: \d+ reading\(s\) posted, 0 rate-limited, 0 failed$/);
    // The demo's admin has a public password: its data stays in a directory of its own, and it says which.
    expect(lines).toContain(
      `SQLite data in ${join(dataDir, "demo")}; telemetry limit 600 points per device per minute.`,
    );
    expect(existsSync(join(dataDir, "demo", "firebrick.sqlite"))).toBe(true);
    expect(existsSync(join(dataDir, "firebrick.sqlite"))).toBe(false);
  });
});
