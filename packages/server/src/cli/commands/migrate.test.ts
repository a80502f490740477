import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { emulatorClient, emulatorHost, uniqueProjectId } from "../../../../../test/firestore.js";
import { openSqlite } from "../../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../../storage/sqlite-migrations.js";
import { createSqliteStores } from "../../stores/index.js";
import { decodeStats } from "../../stores/rollups/stats.js";
import { cliEntry, collectOutput, runCli, spawnCli } from "../testing/run-cli.js";

const project = uniqueProjectId("mig-cli");
const env = { FIRESTORE_EMULATOR_HOST: emulatorHost(), GOOGLE_CLOUD_PROJECT: project };
const firestore = emulatorClient(project);
afterAll(() => firestore.terminate());

const dir = mkdtempSync(join(tmpdir(), "firebrick-migrate-cli-"));

/** Every telemetry document of a device in the target project, counted by Firestore. */
async function firestorePoints(tenant: string, device: string): Promise<number> {
  const query = firestore
    .collection("telemetry")
    .where("tenant_id", "==", tenant)
    .where("device_id", "==", device);
  return (await query.count().get()).data().count;
}

describe("the migration command line", () => {
  const legacy = join(dir, "legacy.sqlite");

  it("writes a fixture and refuses to write over an existing file", async () => {
    const result = await runCli(
      [
        "migrate",
        "fixture",
        "--out",
        legacy,
        "--users",
        "4",
        "--devices",
        "2",
        "--days",
        "3",
        "--points-per-day",
        "1440",
      ],
      { env },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/2 devices, 8,640 points/);
    // Not a terminal: plain progress lines on stderr, the first and the last at least.
    expect(result.stderr).toMatch(/^migrate-fixture: started, 6 users and devices to go\n/);
    expect(result.stderr).toMatch(
      /migrate-fixture: 6\/6 users and devices \(100%\), [\d,]+ users and devices\/s, ETA 0s, in \d+s\n$/,
    );
    const again = await runCli(["migrate", "fixture", "--out", legacy], { env });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("exists");
  });

  it("rejects a backfill window outside 7–30 days for audit with exit 2", async () => {
    const result = await runCli(["backfill", "audit", "--from", legacy, "--days", "45"], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--days must be an integer from 7 to 30");
  });

  it("resumes a killed telemetry backfill from its checkpoint and ends with exactly the source rows", async () => {
    const args = [
      "backfill",
      "telemetry",
      "--from",
      legacy,
      "--days",
      "7",
      "--writes-per-minute",
      "10000",
      "--lock-ttl",
      "3",
    ];
    const child = spawnCli([...args, "--json"], { env });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on("exit", (_code, signal) => resolve(signal)),
    );
    const checkpoint = firestore.collection("migration_jobs").doc("backfill-telemetry-7d");
    // Kill it as soon as it has saved a checkpoint part-way through.
    for (;;) {
      const text = (await checkpoint.get()).get("checkpoint") as string | undefined;
      if (text && !JSON.parse(text).done) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");

    // The dead run's lock holds until its TTL (3 s) and the tolerance have passed; then a new run takes over.
    // Until then a run refuses to start (the lock is held), which is the behaviour this waits out: on a
    // loaded machine that can take longer than the TTL alone.
    let resumed = await runCli([...args, "--json"], { env });
    while (resumed.code !== 0 && resumed.stderr.includes("already running elsewhere")) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      resumed = await runCli([...args, "--json"], { env });
    }
    expect(resumed.stderr).toBe("");
    expect(resumed.code).toBe(0);
    const report = JSON.parse(resumed.stdout);
    expect(report).toMatchObject({ job: "backfill-telemetry-7d", resumed: true, refused: 0 });

    const db = openSqlite(legacy, SQLITE_MIGRATIONS);
    const source = createSqliteStores(db, {});
    try {
      for (const tenant of ["acme", "globex"]) {
        for (const device of (await source.devices.list(tenant)).items) {
          const want = (
            await source.telemetry.window(tenant, device.id, { from: 0, to: Date.now() + 1, limit: 1000 })
          ).items;
          expect(want.length).toBeGreaterThan(0);
          let total = 0;
          let cursor: string | null = null;
          do {
            const page = await source.telemetry.window(tenant, device.id, {
              from: 0,
              to: Date.now() + 1,
              limit: 1000,
              cursor,
            });
            total += page.items.length;
            cursor = page.next_cursor;
          } while (cursor);
          expect(await firestorePoints(tenant, device.id)).toBe(total);
        }
      }
    } finally {
      db.close();
    }
    // A third run finds the job complete and says what it did: nothing; the job's total counts points.
    const third = JSON.parse((await runCli([...args, "--json"], { env })).stdout);
    expect(third).toMatchObject({
      already_complete: true,
      read: 0,
      written: 0,
      total: { read: 8640, written: 8640, refused: 0 },
    });
    const text = await runCli(args, { env });
    expect(text.stdout).toMatch(
      /already complete.*: points read 0, points written 0 .*\(job total: points read 8,640, points written 8,640/,
    );
  }, 120_000);

  it("refuses a --from that names no Firebrick SQLite store with exit 2, on every command, creating nothing", async () => {
    const missing = join(dir, "no-such-file.sqlite");
    const foreign = join(dir, "foreign.sqlite");
    const other = new Database(foreign);
    other.exec("CREATE TABLE readings (at INTEGER, value REAL)");
    other.close();
    const foreignBytes = readFileSync(foreign);
    // Every command on a missing file; another kind of wrong file on one (they share the check, which
    // migrate/source.test.ts covers kind by kind).
    const cases: Array<[string, string[]]> = [
      [missing, ["migrate", "users"]],
      [missing, ["backfill", "audit", "--days", "7"]],
      [missing, ["backfill", "telemetry", "--days", "7"]],
      [missing, ["compare", "telemetry", "--sample", "1"]],
      [foreign, ["backfill", "telemetry", "--days", "7"]],
    ];
    for (const [from, command] of cases) {
      const result = await runCli([...command, "--from", from], { env });
      expect(result.code, `${command.join(" ")} --from ${from}`).toBe(2);
      expect(result.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^firebrick: --from: /)]);
    }
    // Nothing created, nothing changed, and no job recorded anything for a source it did not recognise.
    expect(existsSync(missing)).toBe(false);
    expect(readFileSync(foreign)).toEqual(foreignBytes);
    for (const job of ["migrate-users", "backfill-audit-7d"]) {
      expect((await firestore.collection("migration_jobs").doc(job).get()).exists).toBe(false);
    }
  }, 120_000);

  it("never takes a job finished on one store for finished on another", async () => {
    const small = join(dir, "small.sqlite");
    expect(
      (await runCli(["migrate", "fixture", "--out", small, "--users", "1", "--devices", "0"], { env })).code,
    ).toBe(0);
    const args = ["backfill", "audit", "--days", "7", "--json"];
    const first = JSON.parse((await runCli([...args, "--from", small], { env })).stdout);
    expect(first).toMatchObject({ already_complete: false });
    const onLegacy = JSON.parse((await runCli([...args, "--from", legacy], { env })).stdout);
    expect(onLegacy).toMatchObject({ already_complete: false, resumed: false });
    expect(onLegacy.written).toBeGreaterThan(0);
    expect(onLegacy.notes).toContainEqual(expect.stringContaining("another source"));
    const again = JSON.parse((await runCli([...args, "--from", legacy], { env })).stdout);
    expect(again).toMatchObject({ already_complete: true, written: 0, total: { written: onLegacy.written } });
  }, 120_000);

  it("reports a backfill in named units, with plain progress lines when stderr is not a terminal", async () => {
    // METADATA_SERVER_DETECTION "": as on an operator's machine; the emulator needs no metadata server.
    const result = await runCli(["backfill", "audit", "--from", legacy, "--days", "30"], {
      env: { ...env, METADATA_SERVER_DETECTION: "" },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toContain("Warning");
    const [count] = /started, ([\d,]+) audit entries to go/.exec(result.stderr)!.slice(1);
    expect(result.stderr).toContain(`backfill-audit-30d: ${count}/${count} audit entries (100%)`);
    expect(result.stdout).toBe(
      `backfill-audit-30d: audit entries read ${count}, audit entries written ${count} (skipped 0, refused 0)\n`,
    );
  });

  it("draws a progress bar with counts, rate and ETA on a terminal", async () => {
    // `script` runs the command on a pseudo-terminal and copies what it drew; it ends when the command does.
    const command = [process.execPath, "--import", "tsx", cliEntry, "backfill", "audit", "--from", legacy]
      .concat(["--days", "30", "--restart"])
      .map((arg) => `'${arg}'`)
      .join(" ");
    const result = await collectOutput(
      spawn("script", ["-q", "-e", "-c", command, "/dev/null"], {
        env: { ...process.env, ...env },
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /backfill-audit-30d \[█+\] ([\d,]+)\/\1 audit entries \| [\d,]+ audit entries\/s \| ETA \d+s/,
    );
    expect(result.stdout).toMatch(/audit entries read [\d,]+, audit entries written [\d,]+/);
  });

  it("compares green after the backfill and exits 0", async () => {
    const result = await runCli(["compare", "telemetry", "--from", legacy, "--sample", "2", "--json"], {
      env,
    });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ green: true, mismatched: 0, sampled_series: 2 });
  });

  it("writes the rollups of what it backfilled before it exits: no update held back, no intent left to repair", async () => {
    // A project of its own, so that no killed run's intent is in it.
    const fresh = uniqueProjectId("mig-cli-flush");
    const freshEnv = { ...env, GOOGLE_CLOUD_PROJECT: fresh };
    const target = emulatorClient(fresh);
    try {
      const result = await runCli(
        ["backfill", "telemetry", "--from", legacy, "--days", "7", "--writes-per-minute", "10000", "--json"],
        { env: freshEnv },
      );
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect((await target.collection("telemetry_rollup_intents").count().get()).data().count).toBe(0);
      // Every backfilled point is counted once in the day rollups of its device.
      const counted = new Map<string, number>();
      for (const day of (await target.collection("telemetry_rollups").get()).docs) {
        const device = `${day.get("tenant_id")}/${day.get("device_id")}`;
        for (const value of Object.values((day.get("m.zone_temp_c") ?? {}) as Record<string, unknown>)) {
          counted.set(device, (counted.get(device) ?? 0) + decodeStats(value).count);
        }
      }
      const written = new Map<string, number>();
      for (const point of (await target.collection("telemetry").select("tenant_id", "device_id").get())
        .docs) {
        const device = `${point.get("tenant_id")}/${point.get("device_id")}`;
        written.set(device, (written.get(device) ?? 0) + 1);
      }
      expect(written.size).toBeGreaterThan(0);
      expect(counted).toEqual(written);
    } finally {
      await target.terminate();
    }
  }, 120_000);

  it("rebuilds a tenant's rollups on the store telemetry is routed to, and refuses a bad range with exit 2", async () => {
    const bad = await runCli(["rollups", "rebuild", "--tenant", "acme", "--from", "soon", "--to", "0"], {
      env,
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--from must be an ISO-8601 time or epoch milliseconds");
    const backwards = await runCli(
      ["rollups", "rebuild", "--tenant", "acme", "--from", "2026-01-02", "--to", "2026-01-01"],
      { env },
    );
    expect(backwards.code).toBe(2);
    const to = Date.now() + 1;
    const range = ["--from", String(to - 8 * 24 * 3600_000), "--to", String(to)];
    // On Firestore (the accounts migrated first, so that the tenant's devices are listed there).
    const dataDir = mkdtempSync(join(tmpdir(), "firebrick-rebuild-"));
    expect((await runCli(["migrate", "users", "--from", legacy, "--json"], { env })).code).toBe(0);
    const onFirestore = {
      ...env,
      FIREBRICK_DATA_DIR: dataDir,
      USE_FIRESTORE_AUTH: "1",
      USE_FIRESTORE_TELEMETRY: "1",
    };
    const result = await runCli(["rollups", "rebuild", "--tenant", "acme", ...range, "--json"], {
      env: onFirestore,
    });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.job).toMatch(/^rollups-rebuild-acme-all-/);
    expect(report.written).toBeGreaterThan(0);
    const again = await runCli(["compare", "telemetry", "--from", legacy, "--sample", "2", "--json"], {
      env,
    });
    expect(JSON.parse(again.stdout)).toMatchObject({ green: true, mismatched_buckets: 0 });
    // On SQLite alone: its lock and its checkpoints are in the SQLite file.
    const sqliteDir = mkdtempSync(join(tmpdir(), "firebrick-rebuild-sqlite-"));
    cpSync(legacy, join(sqliteDir, "firebrick.sqlite"));
    const local = await runCli(["rollups", "rebuild", "--tenant", "acme", ...range, "--json"], {
      env: { FIREBRICK_DATA_DIR: sqliteDir },
    });
    expect(local.stderr).toBe("");
    expect(JSON.parse(local.stdout)).toMatchObject({ written: report.written, already_complete: false });
    const repeated = await runCli(["rollups", "rebuild", "--tenant", "acme", ...range, "--json"], {
      env: { FIREBRICK_DATA_DIR: sqliteDir },
    });
    expect(JSON.parse(repeated.stdout)).toMatchObject({ already_complete: true });
  }, 180_000);
});
