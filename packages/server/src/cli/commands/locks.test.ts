import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compareFences } from "@firebrick/lock";
import type { Firestore } from "@google-cloud/firestore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emulatorClient, emulatorHost, uniqueProjectId } from "../../../../../test/firestore.js";
import { serviceLocks } from "../../runtime/service-locks.js";
import { openSqlite, type SqliteDatabase } from "../../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../../storage/sqlite-migrations.js";
import { type CliResult, collectOutput, runCli } from "../testing/run-cli.js";

const tempDir = () => mkdtempSync(join(tmpdir(), "firebrick-locks-"));

describe("firebrick locks on the SQLite file (no Firestore configured)", () => {
  const dataDir = tempDir();
  // The test run exports the emulator's address; without Firestore configured the jobs lock in SQLite.
  const env = {
    FIREBRICK_DATA_DIR: dataDir,
    FIRESTORE_EMULATOR_HOST: undefined,
    GOOGLE_CLOUD_PROJECT: undefined,
  };
  let sqlite: SqliteDatabase;
  beforeAll(() => {
    sqlite = openSqlite(join(dataDir, "firebrick.sqlite"), SQLITE_MIGRATIONS);
  });
  afterAll(() => sqlite.close());
  // What the server's jobs lock with on this data directory.
  const jobs = async () => (await serviceLocks({ sqlite, firestore: null })).backend;

  it("lists, shows and force-releases a lock held by the service's lock backend; the fence counter survives", async () => {
    const held = await (await jobs()).acquire({ key: "job:backfill/tenant é", ttlMs: 60_000 });
    if (!held.ok) throw new Error("the test could not take the lock");

    const list = await runCli(["locks", "list", "--json"], { env });
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toMatchObject({
      backend: "sqlite",
      locks: [{ key: "job:backfill/tenant é", fence: held.fence, expires_at_ms: held.expiresAtMs }],
    });
    expect(list.stdout).not.toContain(held.lockId);

    const text = await runCli(["locks", "list"], { env });
    const [header, row] = text.stdout.split("\n");
    expect(header).toMatch(/^KEY +FENCE +ACQUIRED +EXPIRES$/);
    expect(row).toMatch(new RegExp(`^"job:backfill/tenant é" +${held.fence} +\\d{4}-`));
    // Which backend was listed goes to stderr, so that stdout is the table alone.
    expect(text.stderr).toContain(join(dataDir, "firebrick.sqlite"));

    const show = await runCli(["locks", "show", "job:backfill/tenant é", "--json"], { env });
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ held: true, fence: held.fence });

    const release = await runCli(["locks", "release", "job:backfill/tenant é", "--yes"], { env });
    expect(release.code).toBe(0);
    expect(release.stdout).toContain(`released "job:backfill/tenant é" (fence ${held.fence})`);
    // A forced release is the platform operator's: it is in the platform audit log.
    const audit = await runCli(["audit", "--platform", "--json"], { env });
    expect(JSON.parse(audit.stdout).entries).toEqual([
      expect.objectContaining({
        action: "locks.force_release",
        target: "lock:job:backfill/tenant é",
        actor: expect.stringMatching(/^cli:/),
        details: expect.objectContaining({ fence: held.fence }),
      }),
    ]);

    // The evicted holder can no longer release or extend, and the next holder outranks it.
    expect(await held.release()).toEqual({ ok: false });
    const next = await (await jobs()).acquire({ key: "job:backfill/tenant é", ttlMs: 60_000 });
    if (!next.ok) throw new Error("the key should be free after the forced release");
    expect(compareFences(next.fence, held.fence)).toBeGreaterThan(0);
    expect(sqlite.prepare("SELECT COUNT(*) AS n FROM fence_counters").get()).toEqual({ n: 1 });
    await next.release();
  });

  it("exits 1 when the key is not held (show and release)", async () => {
    const show = await runCli(["locks", "show", "job:nobody"], { env });
    expect([show.code, show.stderr.trim()]).toEqual([1, 'firebrick: no live lock on "job:nobody"']);
    const showJson = await runCli(["locks", "show", "job:nobody", "--json"], { env });
    expect([showJson.code, JSON.parse(showJson.stdout)]).toEqual([1, { held: false, key: "job:nobody" }]);
    const release = await runCli(["locks", "release", "job:nobody", "--yes"], { env });
    expect(release.code).toBe(1);
    expect(release.stderr).toContain('no live lock on "job:nobody"');
  });

  it("refuses to release without --yes when there is no terminal to ask on (exit 2), and the lock stays", async () => {
    const held = await (await jobs()).acquire({ key: "job:keep", ttlMs: 60_000 });
    if (!held.ok) throw new Error("the test could not take the lock");
    const result = await runCli(["locks", "release", "job:keep"], { env, stdin: "y\n" });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      "firebrick: no terminal to confirm on: pass --yes to force-release without asking",
    );
    expect(await (await jobs()).isLocked({ key: "job:keep" })).toBe(true);
    await held.release();
  });

  it("asks at a terminal and releases only on yes", async () => {
    const held = await (await jobs()).acquire({ key: "job:ask", ttlMs: 60_000 });
    if (!held.ok) throw new Error("the test could not take the lock");
    const declined = await runInTerminal(["locks", "release", "job:ask"], env, "n\n");
    expect(declined.code).toBe(1);
    expect(declined.stdout).toContain(`Force-release "job:ask"  fence ${held.fence}`);
    expect(await (await jobs()).isLocked({ key: "job:ask" })).toBe(true);

    const confirmed = await runInTerminal(["locks", "release", "job:ask"], env, "y\n");
    expect(confirmed.code).toBe(0);
    expect(await (await jobs()).isLocked({ key: "job:ask" })).toBe(false);
  });

  it("exits 2 on a bad key or limit", async () => {
    expect((await runCli(["locks", "show", ""], { env })).code).toBe(2);
    expect((await runCli(["locks", "show", "k".repeat(513)], { env })).code).toBe(2);
    const limit = await runCli(["locks", "list", "--limit", "ten"], { env });
    expect([limit.code, limit.stderr.trim()]).toEqual([
      2,
      'firebrick: --limit must be an integer from 1 to 1000 (got "ten")',
    ]);
  });
});

describe("firebrick locks on Firestore (configured: the jobs lock there, not in SQLite)", () => {
  const projectId = uniqueProjectId("locks-cli");
  const dataDir = tempDir();
  let env: Record<string, string>;
  let firestore: Firestore;
  beforeAll(() => {
    firestore = emulatorClient(projectId);
    env = {
      FIREBRICK_DATA_DIR: dataDir,
      FIRESTORE_EMULATOR_HOST: emulatorHost(),
      GOOGLE_CLOUD_PROJECT: projectId,
    };
  });
  afterAll(() => firestore.terminate());

  it("lists and force-releases the lock the jobs hold in Firestore; the fence counter document stays", async () => {
    const sqlite = openSqlite(join(dataDir, "firebrick.sqlite"), SQLITE_MIGRATIONS);
    const jobs = await serviceLocks({ sqlite, firestore });
    expect(jobs.kind).toBe("firestore");
    const held = await jobs.backend.acquire({ key: "firebrick:sessions-sweeper", ttlMs: 60_000 });
    sqlite.close();
    if (!held.ok) throw new Error("the test could not take the lock");

    const list = await runCli(["locks", "list", "--json"], { env });
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toMatchObject({
      backend: "firestore",
      locks: [{ key: "firebrick:sessions-sweeper", fence: held.fence }],
    });

    const release = await runCli(["locks", "release", "firebrick:sessions-sweeper", "--yes", "--json"], {
      env,
    });
    expect(release.code).toBe(0);
    expect(JSON.parse(release.stdout)).toMatchObject({ released: true, fence: held.fence });
    expect((await firestore.collection("locks").get()).size).toBe(0);
    expect((await firestore.collection("fence_counters").get()).size).toBe(1);
    expect(await held.release()).toEqual({ ok: false });

    const empty = await runCli(["locks", "list"], { env });
    expect(empty.stdout).toMatch(/^KEY +FENCE +ACQUIRED +EXPIRES\n$/);
    expect(empty.stderr.trim()).toBe("no live locks (Firestore collections locks, fence_counters)");
  });
});

/** Runs the CLI with a pseudo-terminal on stdin (util-linux `script`), typing `input`. */
function runInTerminal(args: string[], env: NodeJS.ProcessEnv, input: string): Promise<CliResult> {
  const entry = fileURLToPath(new URL("../run.ts", import.meta.url));
  const command = [process.execPath, "--import", "tsx", entry, ...args].map(shellQuote).join(" ");
  const child = spawn("script", ["-qec", command, "/dev/null"], { env: { ...process.env, ...env } });
  const output = collectOutput(child);
  child.stdin.end(input);
  return output;
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}
