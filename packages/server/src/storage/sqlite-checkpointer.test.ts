import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SqliteGroupCommit } from "../stores/sqlite/group-commit.js";
import { openSqlite } from "./sqlite.js";
import { startWalCheckpointer } from "./sqlite-checkpointer.js";

function database() {
  const file = join(mkdtempSync(join(tmpdir(), "firebrick-wal-")), "db.sqlite");
  const db = openSqlite(file, [
    { version: 1, name: "pages", up: "CREATE TABLE pages (id INTEGER PRIMARY KEY, body BLOB NOT NULL)" },
  ]);
  return { db, file };
}

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("startWalCheckpointer", () => {
  it("checkpoints in its worker, and leaves the main connection's automatic checkpoint as a far safety net", async () => {
    const { db } = database();
    const checkpointer = startWalCheckpointer(db, { intervalMs: 20, restartFrames: 1000 });
    expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(4000);
    const insert = db.prepare("INSERT INTO pages (body) VALUES (?)");
    for (let i = 0; i < 50; i++) insert.run(Buffer.alloc(4096, i));
    await until(() => checkpointer.stats.frames >= 50);
    // Everything committed is in the database file: a checkpoint on the main connection finds nothing to copy.
    const [state] = db.pragma("wal_checkpoint(PASSIVE)") as Array<{ log: number; checkpointed: number }>;
    expect(state!.checkpointed).toBe(state!.log);
    await checkpointer.stop();
    db.close();
  });

  it("keeps the WAL bounded under a steady stream of group-committed writes, by holding them for a last pass", async () => {
    const { db, file } = database();
    const commits = new SqliteGroupCommit(db);
    const restartFrames = 200;
    const checkpointer = startWalCheckpointer(db, {
      intervalMs: 10,
      restartFrames,
      hold: () => commits.pause(),
    });
    const insert = db.prepare("INSERT INTO pages (body) VALUES (?)");
    let writing = true;
    let written = 0;
    const writers = Array.from({ length: 8 }, async (_, w) => {
      while (writing) {
        await commits.write(1, () => insert.run(Buffer.alloc(4096, w)));
        written += 1;
      }
    });
    // Without restarts the WAL holds a frame for every page written, so its file never falls below half of
    // what was written; restarted, it is reused from its beginning and stays the size of the busiest span
    // between two restarts while the writes go on. Waiting for that (not reading the size once) keeps the
    // test true on a machine that starves the checkpointer's thread for a while.
    const walPages = () => statSync(`${file}-wal`).size / 4096;
    try {
      await until(
        () => checkpointer.stats.restarts >= 3 && written >= 20 * restartFrames && walPages() < written / 2,
        60_000,
      );
    } finally {
      writing = false;
      await Promise.all(writers);
    }
    expect(walPages()).toBeLessThan(written / 2);
    await checkpointer.stop();
    db.close();
  });

  it("does nothing for an in-memory database", async () => {
    const db = openSqlite(":memory:");
    const checkpointer = startWalCheckpointer(db);
    await checkpointer.stop();
    expect(checkpointer.stats.checkpoints).toBe(0);
    db.close();
  });
});
