import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { openSqlite } from "../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../storage/sqlite-migrations.js";
import { createSqliteStores } from "../stores/index.js";
import { LegacySourceError, openLegacySource, sourceIdentity } from "./source.js";

const dir = () => mkdtempSync(join(tmpdir(), "firebrick-source-"));

describe("openLegacySource (--from)", () => {
  it("refuses whatever is not a Firebrick SQLite store, creating and changing nothing", () => {
    const at = dir();
    const text = join(at, "notes.txt");
    writeFileSync(text, "not a database\n");
    const empty = join(at, "empty.sqlite");
    writeFileSync(empty, "");
    const foreign = join(at, "foreign.sqlite");
    const other = new Database(foreign);
    other.exec("CREATE TABLE readings (at INTEGER)");
    other.close();
    const future = join(at, "future.sqlite");
    openSqlite(future, SQLITE_MIGRATIONS).close();
    const bump = new Database(future);
    bump.pragma("user_version = 9999");
    bump.close();
    const before = new Map(readdirSync(at).map((name) => [name, readFileSync(join(at, name))]));

    for (const [file, why] of [
      [join(at, "missing.sqlite"), /does not exist/],
      [at, /is not a file/],
      [text, /is not a Firebrick SQLite store/],
      [empty, /is not a Firebrick SQLite store/],
      [foreign, /is not a Firebrick SQLite store \(no tenants\)/],
      [future, /schema version 9999, newer than this Firebrick/],
    ] as const) {
      expect(() => openLegacySource(file), file).toThrow(LegacySourceError);
      expect(() => openLegacySource(file), file).toThrow(why);
    }
    expect(existsSync(join(at, "missing.sqlite"))).toBe(false);
    for (const [name, bytes] of before) expect(readFileSync(join(at, name)), name).toEqual(bytes);
  });

  it("opens a Firebrick store read-only: it reads, and refuses to write", async () => {
    const file = join(dir(), "firebrick.sqlite");
    const writer = openSqlite(file, SQLITE_MIGRATIONS);
    await createSqliteStores(writer).tenants.create({ id: "acme" });
    writer.close();
    const db = openLegacySource(file);
    try {
      const stores = createSqliteStores(db);
      expect((await stores.tenants.list()).map((tenant) => tenant.id)).toEqual(["acme"]);
      await expect(stores.tenants.create({ id: "globex" })).rejects.toThrow(/readonly/);
      expect(await sourceIdentity(stores)).toMatch(/^sqlite:[0-9a-f]{32}$/);
    } finally {
      db.close();
    }
  });
});
