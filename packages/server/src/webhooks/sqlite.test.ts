import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSqliteAlarmsStore } from "../alarms/sqlite.js";
import { openSqlite } from "../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../storage/sqlite-migrations.js";
import { createSqliteWebhooksStore } from "./sqlite.js";
import { describeWebhooksContract } from "./testing/contract.js";

describeWebhooksContract("webhooks on SQLite (two connections to one file)", async (clock) => {
  const dir = mkdtempSync(join(tmpdir(), "firebrick-webhooks-"));
  const file = join(dir, "firebrick.sqlite");
  const [first, second] = [openSqlite(file, SQLITE_MIGRATIONS), openSqlite(file, SQLITE_MIGRATIONS)];
  return {
    a: {
      alarms: createSqliteAlarmsStore(first, { clock }),
      webhooks: createSqliteWebhooksStore(first, { clock }),
    },
    b: {
      alarms: createSqliteAlarmsStore(second, { clock }),
      webhooks: createSqliteWebhooksStore(second, { clock }),
    },
    async close() {
      first.close();
      second.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
