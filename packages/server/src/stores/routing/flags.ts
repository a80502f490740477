import type { SqliteDatabase } from "../../storage/sqlite.js";

/**
 * The routing flags of SPEC.md §6: each area on Firestore (true) or SQLite (false), plus the optional
 * telemetry dual-write window (writes to both stores; reads stay where `telemetry` says).
 */
export interface Flags {
  telemetry: boolean;
  audit: boolean;
  auth: boolean;
  telemetry_dual_write: boolean;
}

export type Area = "telemetry" | "audit" | "auth";
export const AREAS: readonly Area[] = ["telemetry", "audit", "auth"];
export const FLAG_NAMES = ["telemetry", "audit", "auth", "telemetry_dual_write"] as const;

/** Where flags survive a restart. The SQLite `settings` table, because SQLite is always there. */
export interface FlagsPersistence {
  load(): Partial<Flags> | null;
  save(flags: Flags, updatedAt: number): void;
}

export function sqliteFlagsPersistence(db: SqliteDatabase): FlagsPersistence {
  const select = db.prepare<[], { value: string }>("SELECT value FROM settings WHERE key = 'flags'");
  const upsert = db.prepare<[string, number]>(
    "INSERT INTO settings (key, value, updated_at) VALUES ('flags', ?, ?) " +
      "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
  );
  return {
    load() {
      const row = select.get();
      if (!row) return null;
      const parsed = JSON.parse(row.value) as Record<string, unknown>;
      const flags: Partial<Flags> = {};
      for (const name of FLAG_NAMES) if (typeof parsed[name] === "boolean") flags[name] = parsed[name];
      return flags;
    },
    save(flags, updatedAt) {
      upsert.run(JSON.stringify(flags), updatedAt);
    },
  };
}

/**
 * The flags in force. Reads are synchronous and cheap (every store call consults them); `reload()` picks
 * up a change made by another instance and is called on a short interval by the server.
 */
export class FlagsState {
  #flags: Flags;

  /**
   * Persisted values win over the environment's: a change made through the admin API must survive a
   * restart (SPEC.md §6). The environment only fills flags that were never persisted.
   */
  constructor(
    private readonly persistence: FlagsPersistence,
    initial: Omit<Flags, "telemetry_dual_write"> & Partial<Flags>,
  ) {
    this.#flags = { telemetry_dual_write: false, ...initial, ...persistence.load() };
  }

  current(): Flags {
    return { ...this.#flags };
  }

  set(next: Flags, now: number): { before: Flags; after: Flags } {
    const before = this.current();
    this.persistence.save(next, now);
    this.#flags = { ...next };
    return { before, after: this.current() };
  }

  reload(): void {
    this.#flags = { ...this.#flags, ...this.persistence.load() };
  }
}
