import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqlite } from "../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../storage/sqlite-migrations.js";
import { SqliteGroupCommit } from "../stores/sqlite/group-commit.js";
import { createSqliteFleetState } from "./sqlite.js";
import { describeFleetContract } from "./testing/contract.js";

describeFleetContract("service-wide state on SQLite (two connections to one file)", async (clock) => {
  const dir = mkdtempSync(join(tmpdir(), "firebrick-fleet-"));
  const file = join(dir, "firebrick.sqlite");
  const first = openSqlite(file, SQLITE_MIGRATIONS);
  const second = openSqlite(file, SQLITE_MIGRATIONS);
  return {
    a: createSqliteFleetState(first, { clock, pollMs: 20 }),
    b: createSqliteFleetState(second, { clock, pollMs: 20 }),
    async close() {
      first.close();
      second.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

// As the server opens it: record writes share the telemetry group commit's transactions.
describeFleetContract("service-wide state on SQLite, record writes group-committed", async (clock) => {
  const dir = mkdtempSync(join(tmpdir(), "firebrick-fleet-"));
  const file = join(dir, "firebrick.sqlite");
  const first = openSqlite(file, SQLITE_MIGRATIONS);
  const second = openSqlite(file, SQLITE_MIGRATIONS);
  return {
    a: createSqliteFleetState(first, { clock, pollMs: 20, commits: new SqliteGroupCommit(first) }),
    b: createSqliteFleetState(second, { clock, pollMs: 20, commits: new SqliteGroupCommit(second) }),
    async close() {
      first.close();
      second.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
