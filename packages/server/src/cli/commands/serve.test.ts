import { spawn } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { cliEntry, runCli, spawnCli } from "../testing/run-cli.js";

const tempDir = () => mkdtempSync(join(tmpdir(), "firebrick-serve-"));

describe("firebrick serve", () => {
  it("serves /healthz and /readyz on SQLite, then shuts down cleanly on SIGTERM", async () => {
    const dataDir = tempDir();
    const child = spawnCli(["serve", "--port", "0"], { env: { FIREBRICK_DATA_DIR: dataDir } });
    const url = await new Promise<string>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`exited early with ${code}`)));
      createInterface({ input: child.stdout }).on("line", (line) => {
        const entry = JSON.parse(line);
        if (entry.msg === "firebrick is serving") resolve(entry.url);
      });
    });
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", checks: { sqlite: { status: "ok" } } });
    expect(existsSync(join(dataDir, "firebrick.sqlite"))).toBe(true);

    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });

  it("logs pretty lines on a terminal (JSON lines otherwise, as above)", async () => {
    // `script` gives the server a pseudo-terminal for stdout; it runs in its own process group, ended below.
    const command = [process.execPath, "--import", "tsx", cliEntry, "serve", "--port", "0"]
      .map((arg) => `'${arg}'`)
      .join(" ");
    const child = spawn("script", ["-q", "-e", "-c", command, "/dev/null"], {
      env: { ...process.env, FIREBRICK_DATA_DIR: tempDir() },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    const lines: string[] = [];
    try {
      const serving = await new Promise<string>((resolve, reject) => {
        child.once("exit", (code) => reject(new Error(`exited early with ${code}: ${lines.join("\n")}`)));
        createInterface({ input: child.stdout }).on("line", (line) => {
          // biome-ignore lint/suspicious/noControlCharactersInRegex: the colours of a terminal
          const plain = line.replace(/\u001b\[[0-9;]*m/g, "").trimEnd();
          lines.push(plain);
          if (plain.includes("firebrick is serving")) resolve(plain);
        });
      });
      expect(serving).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: firebrick is serving$/);
      expect(lines.some((line) => line.startsWith("{"))).toBe(false);
    } finally {
      process.kill(-child.pid!, "SIGTERM");
      await exited;
    }
  });

  it("exits 2 with one line naming the key when the configuration is bad", async () => {
    const result = await runCli(["serve"], { env: { PORT: "eighty", FIREBRICK_DATA_DIR: tempDir() } });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      'firebrick: invalid configuration: PORT must be an integer from 0 to 65535 (got "eighty")',
    );
  });

  it("exits 2 on an unknown option or command", async () => {
    expect((await runCli(["serve", "--bogus"])).code).toBe(2);
    expect((await runCli(["no-such-command"])).code).toBe(2);
  });

  it("exits 1 when the port is taken", async () => {
    const first = spawnCli(["serve", "--port", "0"], { env: { FIREBRICK_DATA_DIR: tempDir() } });
    const url = await new Promise<string>((resolve) =>
      createInterface({ input: first.stdout }).on("line", (line) => {
        const entry = JSON.parse(line);
        if (entry.msg === "firebrick is serving") resolve(entry.url);
      }),
    );
    const port = new URL(url).port;
    const second = await runCli(["serve", "--port", port], { env: { FIREBRICK_DATA_DIR: tempDir() } });
    first.kill("SIGTERM");
    expect(second.code).toBe(1);
    expect(second.stderr).toContain("EADDRINUSE");
  });
});
