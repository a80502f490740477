// A separate process contending for one key in a shared SQLite file (run by sqlite.test.ts).
// It logs "enter <fence>" and "exit <fence>" around each critical section to a shared append-only file.
import { appendFileSync } from "node:fs";
import Database from "better-sqlite3";
import { createSqliteBackend } from "../src/sqlite/index.js";

const [file, log, key, wanted] = process.argv.slice(2) as [string, string, string, string];
const db = new Database(file, { timeout: 10_000 });
db.pragma("journal_mode = WAL");
const backend = createSqliteBackend(db);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let held = 0;
while (held < Number(wanted)) {
  const lock = await backend.acquire({ key, ttlMs: 10_000 });
  if (!lock.ok) {
    await pause(1);
    continue;
  }
  appendFileSync(log, `enter ${lock.fence} ${process.pid}\n`);
  await pause(2);
  appendFileSync(log, `exit ${lock.fence} ${process.pid}\n`);
  await backend.release({ lockId: lock.lockId });
  held += 1;
}
db.close();
