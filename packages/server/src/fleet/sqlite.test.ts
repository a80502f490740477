import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqlite } from "../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../storage/sqlite-migrations.js";
import { SqliteGroupCommit } from "../stores/sqlite/group-commit.js";
import type { Clock } from "../stores/types.js";
import { createSqliteFleetState } from "./sqlite.js";
import { describeFleetContract } from "./testing/contract.js";

/** Two connections to one file, each with its own state (and group commit, as the server opens it). */
function twoConnections(clock: Clock, options: { groupCommit: boolean }) {
  const dir = mkdtempSync(join(tmpdir(), "firebrick-fleet-"));
  const file = join(dir, "firebrick.sqlite");
  const [first, second] = [openSqlite(file, SQLITE_MIGRATIONS), openSqlite(file, SQLITE_MIGRATIONS)];
  const state = (db: typeof first) =>
    createSqliteFleetState(db, {
      clock,
      pollMs: 20,
      ...(options.groupCommit && { commits: new SqliteGroupCommit(db) }),
    });
  return {
    a: state(first),
    b: state(second),
    async close() {
      first.close();
      second.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describeFleetContract("service-wide state on SQLite (two connections to one file)", async (clock) =>
  twoConnections(clock, { groupCommit: false }),
);

// As the server opens it: record writes share the telemetry group commit's transactions.
describeFleetContract("service-wide state on SQLite, record writes group-committed", async (clock) =>
  twoConnections(clock, { groupCommit: true }),
);
