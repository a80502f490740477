import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqlite } from "../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../storage/sqlite-migrations.js";
import { createSqliteAlarmsStore } from "./sqlite.js";
import { describeAlarmsContract } from "./testing/contract.js";

describeAlarmsContract("alarms on SQLite (two connections to one file)", async (clock) => {
  const dir = mkdtempSync(join(tmpdir(), "firebrick-alarms-"));
  const file = join(dir, "firebrick.sqlite");
  const first = openSqlite(file, SQLITE_MIGRATIONS);
  const second = openSqlite(file, SQLITE_MIGRATIONS);
  return {
    a: createSqliteAlarmsStore(first, { clock }),
    b: createSqliteAlarmsStore(second, { clock }),
    async close() {
      first.close();
      second.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
