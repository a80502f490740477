import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";

export type SqliteDatabase = Database.Database;

/** One schema step. Versions are applied in order, each once, each in its own transaction. */
export interface Migration {
  version: number;
  name: string;
  up: string | ((db: SqliteDatabase) => void);
}

/**
 * Opens (creating if needed) a SQLite database file in WAL mode with foreign keys on and a busy
 * timeout, so that several processes can share it, then applies pending migrations.
 *
 * @example
 * const db = openSqlite("./data/firebrick.sqlite", MIGRATIONS);
 */
export function openSqlite(file: string, migrations: readonly Migration[] = []): SqliteDatabase {
  if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("foreign_keys = ON");
  db.pragma("busy_timeout = 5000");
  db.pragma("synchronous = NORMAL");
  migrate(db, migrations);
  return db;
}

/**
 * Opens an existing SQLite file for reading only: nothing is created (a missing file throws), migrated
 * or written. SQLite may still add its `-wal`/`-shm` companions beside a database in WAL mode.
 *
 * @example
 * const db = openSqliteReadOnly("./data/firebrick.sqlite");
 */
export function openSqliteReadOnly(file: string): SqliteDatabase {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  db.pragma("busy_timeout = 5000");
  return db;
}

/** Applies the migrations newer than the database's `user_version`; refuses a database from the future. */
export function migrate(db: SqliteDatabase, migrations: readonly Migration[]): number {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  const latest = sorted.at(-1)?.version ?? 0;
  // BEGIN IMMEDIATE takes the write lock up front, so two processes starting at once apply each step once.
  const run = db.transaction(() => {
    const current = db.pragma("user_version", { simple: true }) as number;
    if (current > latest) {
      throw new Error(
        `database schema version ${current} is newer than this Firebrick (${latest}); upgrade Firebrick`,
      );
    }
    for (const step of sorted) {
      if (step.version <= current) continue;
      if (typeof step.up === "string") db.exec(step.up);
      else step.up(db);
      db.pragma(`user_version = ${step.version}`);
    }
    return db.pragma("user_version", { simple: true }) as number;
  });
  return run.immediate();
}
