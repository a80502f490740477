import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { emulatorClient } from "../../../../../test/firestore.js";
import { call } from "../../../../../test/reliability/support.js";
import { runCli, spawnCli } from "../testing/run-cli.js";

const tempDir = () => mkdtempSync(join(tmpdir(), "firebrick-serve-emulator-"));

/** Not the test run's emulator: `serve --emulator` must start and configure its own. */
const ownEnv = (dataDir: string) => ({
  FIREBRICK_DATA_DIR: dataDir,
  FIRESTORE_EMULATOR_HOST: undefined,
  GOOGLE_CLOUD_PROJECT: undefined,
});

interface Started {
  url: string;
  emulator: { host: string; pid: number; imported: string | null };
  stderr: () => string;
  stop(): Promise<number | null>;
  /** Ctrl-C in a terminal: SIGINT to the whole process group of `firebrick serve`. */
  interrupt(): Promise<number | null>;
}

function startServe(dataDir: string): Promise<Started> {
  // Led by its own process group, as a shell starts a foreground job, so that interrupt() reaches what a
  // terminal's Ctrl-C reaches (and no process of the test runner).
  const child = spawnCli(["serve", "--emulator", "--port", "0"], {
    env: ownEnv(dataDir),
    ownProcessGroup: true,
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    void exited.then((code) => reject(new Error(`exited early with ${code}: ${stderr}`)));
    let emulator: Started["emulator"] | undefined;
    createInterface({ input: child.stdout }).on("line", (line) => {
      const entry = JSON.parse(line);
      if (entry.msg === "firestore emulator started") emulator = entry;
      if (entry.msg === "firebrick is serving" && emulator) {
        resolve({
          url: entry.url,
          emulator,
          stderr: () => stderr,
          stop: () => {
            child.kill("SIGTERM");
            return exited;
          },
          interrupt: () => {
            process.kill(-child.pid!, "SIGINT");
            return exited;
          },
        });
      }
    });
  });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("firebrick serve --emulator", () => {
  it("starts its own emulator, bootstraps it, routes every area to it, keeps its data across restarts and stops it on SIGTERM", {
    timeout: 180_000,
  }, async () => {
    const dataDir = tempDir();

    const first = await startServe(dataDir);
    expect(first.emulator.imported).toBeNull();
    const ready = await fetch(`${first.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: "ready",
      checks: { sqlite: { status: "ok" }, firestore: { status: "ok" }, bootstrap: { status: "ok" } },
      stores: { auth: "firestore", audit: "firestore", telemetry: "firestore" },
    });
    expect(first.stderr()).toContain('First run: created tenant "demo"');
    expect(isRunning(first.emulator.pid)).toBe(true);
    expect(await first.stop()).toBe(0);
    expect(isRunning(first.emulator.pid)).toBe(false);
    expect(readdirSync(join(dataDir, "firestore-emulator"))).toHaveLength(1);

    // The demo tenant came back from the snapshot, so there is no second first run.
    const second = await startServe(dataDir);
    expect(second.emulator.imported).toContain(join(dataDir, "firestore-emulator", "snapshot-"));
    expect(second.stderr()).not.toContain("First run");
    expect((await fetch(`${second.url}/readyz`)).status).toBe(200);
    // A newer build's bootstrap document: this build must refuse to serve on it.
    const firestore = emulatorClient("demo-firebrick", second.emulator.host);
    await firestore.doc("zarch_sessions/sessions").update({ schema_version: 999 });
    await firestore.terminate();
    expect(await second.stop()).toBe(0);
    expect(isRunning(second.emulator.pid)).toBe(false);

    const { code, stdout, stderr } = await runCli(["serve", "--emulator", "--port", "0"], {
      env: ownEnv(dataDir),
    });
    expect(code).toBe(1);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toMatch(/^firebrick: bootstrap failed: document: .*schema downgrade refused/);
    const started = stdout
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .find((entry) => entry.msg === "firestore emulator started");
    expect(isRunning(started.pid)).toBe(false);
  });

  it("keeps its data and its admin when stopped by Ctrl-C (SIGINT to its whole process group)", {
    timeout: 180_000,
  }, async () => {
    const dataDir = tempDir();
    const first = await startServe(dataDir);
    const password = /Password \(shown once[^)]*\): (\S+)/.exec(first.stderr())?.[1];
    expect(password).toBeDefined();
    const signIn = async (url: string) => {
      const reply = await call(url, "POST", "/api/auth/login", {
        tenant: "demo",
        body: { username: "admin", password },
      });
      expect(reply.status).toBe(200);
      return reply.session!;
    };
    const session = await signIn(first.url);
    const created = await call(first.url, "POST", "/api/devices", {
      tenant: "demo",
      session,
      body: { name: "AHU-ctrl-c" },
    });
    expect(created.status).toBe(201);
    expect(await first.interrupt()).toBe(0);
    expect(isRunning(first.emulator.pid)).toBe(false);

    const second = await startServe(dataDir);
    try {
      expect(second.emulator.imported).toContain(join(dataDir, "firestore-emulator", "snapshot-"));
      expect(second.stderr()).not.toContain("First run");
      // The same admin, with the password of the first run.
      const devices = await call(second.url, "GET", "/api/devices", {
        tenant: "demo",
        session: await signIn(second.url),
      });
      expect(devices.status).toBe(200);
      expect(JSON.stringify(devices.body)).toContain("AHU-ctrl-c");
    } finally {
      expect(await second.interrupt()).toBe(0);
    }
    expect(isRunning(second.emulator.pid)).toBe(false);
  });

  it("exits 1 with one line when Java is missing", async () => {
    const dataDir = tempDir();
    const result = await runCli(["serve", "--emulator", "--port", "0"], {
      env: { ...ownEnv(dataDir), JAVA: join(dataDir, "no-java-here") },
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n")).toEqual([
      `firebrick: --emulator: Java is missing: '${join(dataDir, "no-java-here")}' could not be run (install Java 17, e.g. apt-get install -y openjdk-17-jre-headless, or set JAVA)`,
    ]);
    expect(existsSync(join(dataDir, "firestore-emulator"))).toBe(false);
  });

  it("exits 2 with one line, starting nothing, while FIRESTORE_EMULATOR_HOST names another emulator", async () => {
    const dataDir = tempDir();
    const result = await runCli(["serve", "--emulator", "--port", "0"], {
      env: { ...ownEnv(dataDir), FIRESTORE_EMULATOR_HOST: "127.0.0.1:9" },
    });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toEqual([
      "firebrick: --emulator starts an emulator of its own: unset FIRESTORE_EMULATOR_HOST",
    ]);
    expect(existsSync(join(dataDir, "firestore-emulator"))).toBe(false);
  });
});
