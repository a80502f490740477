import { statSync } from "node:fs";
import { openSqliteReadOnly, type SqliteDatabase } from "../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../storage/sqlite-migrations.js";
import { sha256 } from "../stores/keys.js";

/** `--from` does not name a Firebrick SQLite store: the job does not start (the CLI exits 2). */
export class LegacySourceError extends Error {
  override name = "LegacySourceError";
}

/** The tables a Firebrick SQLite store has had since its first schema version. */
const STORE_TABLES = ["tenants", "users", "sessions", "devices", "telemetry", "audit_log"];

/**
 * The legacy store a migration job reads (`--from`), opened read-only once it is known to be one: an
 * existing file, a SQLite database, with Firebrick's tables and a schema version this build knows. A
 * mistyped path used to create an empty database that a job then read to completion.
 *
 * @example
 * const db = openLegacySource("data/firebrick.sqlite"); // LegacySourceError: exit 2, nothing created
 */
export function openLegacySource(file: string): SqliteDatabase {
  const stat = statSync(file, { throwIfNoEntry: false });
  if (!stat) throw new LegacySourceError(`${file} does not exist`);
  if (!stat.isFile()) throw new LegacySourceError(`${file} is not a file`);
  let db: SqliteDatabase;
  try {
    db = openSqliteReadOnly(file);
  } catch (error) {
    throw new LegacySourceError(`${file} cannot be opened: ${(error as Error).message}`);
  }
  try {
    const version = db.pragma("user_version", { simple: true }) as number;
    const tables = new Set(
      db
        .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
        .all()
        .map((row) => row.name),
    );
    const missing = STORE_TABLES.filter((table) => !tables.has(table));
    if (version < 1 || missing.length > 0) {
      throw new LegacySourceError(
        `${file} is not a Firebrick SQLite store (no ${missing[0] ?? "schema version"})`,
      );
    }
    const latest = Math.max(...SQLITE_MIGRATIONS.map((step) => step.version));
    if (version > latest) {
      throw new LegacySourceError(
        `${file} is at schema version ${version}, newer than this Firebrick (${latest})`,
      );
    }
    return db;
  } catch (error) {
    db.close();
    if (error instanceof LegacySourceError) throw error;
    // Not SQLite at all: SQLite says so on the first read.
    throw new LegacySourceError(`${file} is not a Firebrick SQLite store: ${(error as Error).message}`);
  }
}

/**
 * What identifies a source store across runs: its tenants and when each was created. A checkpoint records
 * it, so that completion claimed for one store is never taken for another (a copy of the same store is
 * the same source).
 */
export async function sourceIdentity(stores: Stores): Promise<string> {
  const tenants = (await stores.tenants.list()).map((tenant) => `${tenant.id}@${tenant.created_at}`).sort();
  return `sqlite:${sha256(tenants.join("\n")).slice(0, 32)}`;
}

import type { Stores } from "../stores/types.js";

/** Tenant ids of the source, sorted, so that a cursor can name "the tenant after X". */
export async function sortedTenantIds(stores: Stores): Promise<string[]> {
  return (await stores.tenants.list()).map((tenant) => tenant.id).sort();
}

/** Every device id of a tenant, sorted. */
export async function sortedDeviceIds(stores: Stores, tenant: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await stores.devices.list(tenant, { limit: 500, cursor });
    ids.push(...page.items.map((device) => device.id));
    cursor = page.next_cursor;
  } while (cursor);
  return ids.sort();
}

/** The first element of `sorted` after `after` (or the first, when `after` is null). */
export function nextAfter(sorted: string[], after: string | null): string | undefined {
  return after === null ? sorted[0] : sorted.find((value) => value > after);
}
