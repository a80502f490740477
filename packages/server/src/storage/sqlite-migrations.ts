import type { Migration } from "./sqlite.js";

/**
 * The SQLite schema, one versioned step at a time. Append new steps; never edit an applied one.
 */
export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    // Versions 1–49 belong to the stores; 50+ to the service's own settings.
    version: 50,
    name: "settings: service settings that survive a restart (the routing flags)",
    up: "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT NULL) STRICT",
  },
];
