import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type Migration, migrate, openSqlite } from "./sqlite.js";

const steps: Migration[] = [
  { version: 1, name: "things", up: "CREATE TABLE things (id INTEGER PRIMARY KEY, name TEXT NOT NULL)" },
  { version: 2, name: "things.colour", up: (db) => db.exec("ALTER TABLE things ADD COLUMN colour TEXT") },
];

const tempFile = () => join(mkdtempSync(join(tmpdir(), "firebrick-sqlite-")), "db.sqlite");

describe("openSqlite", () => {
  it("opens in WAL mode with foreign keys on and applies migrations in order", () => {
    const db = openSqlite(tempFile(), steps);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(db.pragma("foreign_keys", { simple: true })).toBe(1);
    expect(db.pragma("user_version", { simple: true })).toBe(2);
    db.prepare("INSERT INTO things (name, colour) VALUES (?, ?)").run("brick", "red");
    db.close();
  });

  it("applies each migration once across reopenings", () => {
    const file = tempFile();
    openSqlite(file, steps.slice(0, 1)).close();
    const db = openSqlite(file, steps);
    expect(db.pragma("user_version", { simple: true })).toBe(2);
    expect(migrate(db, steps)).toBe(2);
    db.close();
  });

  it("refuses a database written by a newer schema", () => {
    const file = tempFile();
    openSqlite(file, steps).close();
    expect(() => openSqlite(file, steps.slice(0, 1))).toThrow(/newer than this Firebrick/);
  });

  it("rolls back a failing migration as a whole", () => {
    const file = tempFile();
    const broken: Migration[] = [...steps, { version: 3, name: "broken", up: "CREATE TABLE x (; nonsense" }];
    expect(() => openSqlite(file, broken)).toThrow();
    const db = openSqlite(file, steps);
    expect(db.pragma("user_version", { simple: true })).toBe(2);
    db.close();
  });
});
