import { describe, expect, it } from "vitest";
import { openSqlite, type SqliteDatabase } from "../../storage/sqlite.js";
import { StoreUnavailableError } from "../types.js";
import { SqliteGroupCommit } from "./group-commit.js";

function database(): SqliteDatabase {
  return openSqlite(":memory:", [
    {
      version: 1,
      name: "rows",
      up: "CREATE TABLE rows (k TEXT PRIMARY KEY, v INTEGER NOT NULL CHECK (v >= 0)) STRICT",
    },
  ]);
}

/** A caller's write: upserts each [key, value] pair. */
function upserts(db: SqliteDatabase, pairs: Array<[string, number]>) {
  const upsert = db.prepare("INSERT OR REPLACE INTO rows (k, v) VALUES (?, ?)");
  return () => {
    for (const [k, v] of pairs) upsert.run(k, v);
  };
}

/** `callers` writes at once, caller i upserting two rows named after it. */
const pairsFrom = (group: SqliteGroupCommit, db: SqliteDatabase, callers: number) =>
  Promise.all(
    Array.from({ length: callers }, (_, i) =>
      group.write(
        2,
        upserts(db, [
          [`a${i}`, i],
          [`b${i}`, i],
        ]),
      ),
    ),
  );

const stored = (db: SqliteDatabase) =>
  Object.fromEntries(
    (db.prepare("SELECT k, v FROM rows ORDER BY k").all() as { k: string; v: number }[]).map((r) => [
      r.k,
      r.v,
    ]),
  );

describe("SqliteGroupCommit", () => {
  it("commits the writes of callers arriving in one turn of the event loop in one transaction", async () => {
    const db = database();
    const commits: Array<[number, number]> = [];
    const group = new SqliteGroupCommit(db, { onCommit: (rows, callers) => commits.push([rows, callers]) });
    await pairsFrom(group, db, 10);
    expect(commits).toEqual([[20, 10]]);
    expect(Object.keys(stored(db))).toHaveLength(20);
  });

  it("settles a caller only once its rows are committed, and a lone caller without waiting for others", async () => {
    const db = database();
    const group = new SqliteGroupCommit(db);
    const pending = group.write(1, upserts(db, [["k", 1]]));
    expect(stored(db)).toEqual({});
    await pending;
    expect(stored(db)).toEqual({ k: 1 });
  });

  it("applies rewrites of one row in call order, within a transaction and across transactions", async () => {
    const db = database();
    const group = new SqliteGroupCommit(db, { maxRowsPerCommit: 2 });
    await Promise.all([1, 2, 3, 4, 5].map((v) => group.write(1, upserts(db, [["same", v]]))));
    expect(stored(db)).toEqual({ same: 5 });
  });

  it("fails only the caller whose rows were refused, and keeps none of its rows", async () => {
    const db = database();
    const group = new SqliteGroupCommit(db);
    const results = await Promise.allSettled([
      group.write(1, upserts(db, [["ok1", 1]])),
      group.write(
        2,
        upserts(db, [
          ["bad-first", 1],
          ["bad-second", -1],
        ]),
      ),
      group.write(1, upserts(db, [["ok2", 2]])),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(stored(db)).toEqual({ ok1: 1, ok2: 2 });
  });

  it("splits a long queue into transactions of at most maxRowsPerCommit rows, oldest first", async () => {
    const db = database();
    const commits: number[] = [];
    const group = new SqliteGroupCommit(db, { maxRowsPerCommit: 5, onCommit: (rows) => commits.push(rows) });
    await pairsFrom(group, db, 6);
    expect(commits).toEqual([4, 4, 4]);
  });

  it("holds commits while paused and commits the queue once released", async () => {
    const db = database();
    const group = new SqliteGroupCommit(db);
    const release = group.pause();
    let settled = false;
    const pending = group.write(1, upserts(db, [["held", 1]])).then(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(false);
    expect(stored(db)).toEqual({});
    release();
    await pending;
    expect(stored(db)).toEqual({ held: 1 });
  });

  it("refuses writes beyond its queue bound with StoreUnavailableError (a 503), and keeps the queued ones", async () => {
    const db = database();
    const group = new SqliteGroupCommit(db, { maxQueuedRows: 3 });
    const release = group.pause();
    const first = group.write(
      3,
      upserts(db, [
        ["a", 1],
        ["b", 1],
        ["c", 1],
      ]),
    );
    await expect(group.write(1, upserts(db, [["d", 1]]))).rejects.toBeInstanceOf(StoreUnavailableError);
    release();
    await first;
    expect(Object.keys(stored(db))).toEqual(["a", "b", "c"]);
  });
});
