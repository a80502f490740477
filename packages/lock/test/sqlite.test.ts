import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { LockError } from "../src/index.js";
import { createSqliteBackend, mapSqliteError } from "../src/sqlite/index.js";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "lock-sqlite-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("SQLite backend across processes", () => {
  it("gives mutual exclusion and strictly increasing fences to processes sharing one file", async () => {
    const file = join(dir, "shared.db");
    const log = join(dir, "critical-sections.log");
    const worker = new URL("./sqlite-worker.ts", import.meta.url).pathname;
    const processes = 4;
    const each = 15;
    // Create the schema once so the workers do not race on CREATE TABLE.
    createSqliteBackend(new Database(file));
    await Promise.all(
      Array.from({ length: processes }, () =>
        run(process.execPath, ["--import", "tsx", worker, file, log, "shared-key", String(each)], {
          timeout: 90_000,
        }),
      ),
    );
    const lines = readFileSync(log, "utf8").trim().split("\n");
    expect(lines).toHaveLength(processes * each * 2);
    let previous = 0n;
    for (let i = 0; i < lines.length; i += 2) {
      const [enter, fenceIn, pidIn] = lines[i]!.split(" ");
      const [exit, fenceOut, pidOut] = lines[i + 1]!.split(" ");
      // Every critical section closes before the next opens: no two holders at once.
      expect([enter, exit]).toEqual(["enter", "exit"]);
      expect([fenceOut, pidOut]).toEqual([fenceIn, pidIn]);
      expect(BigInt(fenceIn!)).toBeGreaterThan(previous);
      previous = BigInt(fenceIn!);
    }
    expect(new Set(lines.map((l) => l.split(" ")[2])).size).toBe(processes);
  }, 120_000);
});

describe("SQLite backend configuration", () => {
  it.each([
    [{ table: "locks", fenceTable: "LOCKS" }, /must differ/],
    [{ table: "locks; DROP TABLE x" }, /identifier/],
    [{ fenceTable: "" }, /identifier/],
    [{ table: "sqlite_master" }, /identifier/],
  ])("rejects %o with InvalidArgument at construction", (options, message) => {
    const db = new Database(":memory:");
    expect(() => createSqliteBackend(db, options)).toThrow(message);
    try {
      createSqliteBackend(db, options);
    } catch (error) {
      expect((error as LockError).code).toBe("InvalidArgument");
    }
    db.close();
  });

  it("keeps locks in the configured tables", async () => {
    const db = new Database(":memory:");
    const backend = createSqliteBackend(db, { table: "job_locks", fenceTable: "job_fences" });
    await backend.acquire({ key: "a/b", ttlMs: 1000 });
    expect(db.prepare("SELECT key FROM job_locks").all()).toEqual([{ key: "a/b" }]);
    expect(db.prepare("SELECT key, fence FROM job_fences").all()).toEqual([
      { key: "a/b", fence: "000000000000001" },
    ]);
    db.close();
  });

  it("maps SQLite result codes to lock error codes", () => {
    const busy = Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY_SNAPSHOT" });
    expect(mapSqliteError(busy).code).toBe("ServiceUnavailable");
    expect(mapSqliteError(Object.assign(new Error("x"), { code: "SQLITE_READONLY" })).code).toBe(
      "AuthFailed",
    );
    expect(mapSqliteError(new Error("other")).code).toBe("Internal");
    expect(mapSqliteError(new LockError("Aborted"))).toBeInstanceOf(LockError);
  });

  it("reports a locked database file as a retryable ServiceUnavailable", async () => {
    const file = join(dir, "busy.db");
    const holder = new Database(file);
    const backend = createSqliteBackend(new Database(file, { timeout: 1 }));
    holder.exec("BEGIN EXCLUSIVE");
    const error = await backend.acquire({ key: "k", ttlMs: 1000 }).catch((e: unknown) => e);
    holder.exec("ROLLBACK");
    expect(error).toBeInstanceOf(LockError);
    expect((error as LockError).code).toBe("ServiceUnavailable");
  });
});
