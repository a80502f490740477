import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll } from "vitest";
import { createSqliteBackend, createSqliteLockAdmin } from "../src/sqlite/index.js";
import { describeLockBackendContract, TestClock } from "./contract.js";

const dir = mkdtempSync(join(tmpdir(), "lock-contract-"));
const file = join(dir, "locks.db");
const connections: Database.Database[] = [];
afterAll(() => {
  for (const db of connections) db.close();
  rmSync(dir, { recursive: true, force: true });
});

function connect(): Database.Database {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  connections.push(db);
  return db;
}

describeLockBackendContract("SQLite", async () => {
  const clock = new TestClock();
  const db = connect();
  const quiet = { warn() {} };
  return {
    clock,
    timeAuthority: "client",
    backend: createSqliteBackend(db, { now: clock.now, logger: quiet }),
    admin: createSqliteLockAdmin(db, { now: clock.now }),
    async open(overrides = {}) {
      // A new connection to the same file: what another process, or this one after a restart, sees.
      return createSqliteBackend(connect(), { now: clock.now, logger: quiet, ...overrides });
    },
    async seedFence(key, fence) {
      db.prepare("INSERT OR REPLACE INTO fence_counters (key, fence) VALUES (?, ?)").run(
        key.normalize("NFC"),
        fence,
      );
    },
  };
});
