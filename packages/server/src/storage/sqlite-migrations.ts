import type { Migration } from "./sqlite.js";

/**
 * The SQLite schema, one versioned step at a time. Append new steps; never edit an applied one.
 */
export const SQLITE_MIGRATIONS: readonly Migration[] = [];
