import type { SqliteDatabase } from "../../storage/sqlite.js";
import { AREAS, type Area } from "./areas.js";

/**
 * The routing flags (docs/design/store-routing.md): each area on Firestore (true) or SQLite (false), plus
 * the optional telemetry dual-write window (writes to both stores; reads stay where `telemetry` says).
 */
export type Flags = Record<Area, boolean> & { telemetry_dual_write: boolean };

export const FLAG_NAMES = [...AREAS, "telemetry_dual_write"] as const satisfies readonly (keyof Flags)[];

/** A change of the flags in force, and who made it (e.g. `user:<id>`, `cli`; null if nobody said). */
export interface FlagsChange {
  before: Flags;
  after: Flags;
  by: string | null;
}

/** Where flags survive a restart. The SQLite `settings` table, because SQLite is always there. */
export interface FlagsPersistence {
  /** The saved flags and who saved them; null if they were never saved. */
  load(): { flags: Partial<Flags>; by: string | null } | null;
  save(flags: Flags, updatedAt: number, by: string): void;
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
      return { flags, by: typeof parsed.changed_by === "string" ? parsed.changed_by : null };
    },
    save(flags, updatedAt, by) {
      upsert.run(JSON.stringify({ ...flags, changed_by: by }), updatedAt);
    },
  };
}

/**
 * The flags in force. Reads are synchronous and cheap (every store call consults them); `reload()` picks
 * up a change made by another instance and is called on a short interval by the server. Every change,
 * made here or picked up, is announced to `onChange` listeners (the store router turns it into area moves).
 */
export class FlagsState {
  #flags: Flags;
  readonly #listeners = new Set<(change: FlagsChange) => void>();

  /**
   * Persisted values win over the environment's: a change made through the admin API must survive a
   * restart. The environment only fills flags that were never persisted.
   */
  constructor(
    private readonly persistence: FlagsPersistence,
    initial: Record<Area, boolean> & Partial<Flags>,
  ) {
    this.#flags = { telemetry_dual_write: false, ...initial, ...persistence.load()?.flags };
  }

  current(): Flags {
    return { ...this.#flags };
  }

  /** Persists and applies `next`; `by` names who changed them, for listeners and the settings row. */
  set(next: Flags, now: number, by = "unnamed"): FlagsChange {
    this.persistence.save(next, now, by);
    return this.#apply({ ...next }, by);
  }

  /** Picks up the saved flags, e.g. a change another instance made. */
  reload(): void {
    const saved = this.persistence.load();
    if (saved) this.#apply({ ...this.#flags, ...saved.flags }, saved.by);
  }

  /**
   * Calls `listener` after each change of the flags in force (synchronously: listeners must be quick and
   * must not throw). Returns the function that unsubscribes it.
   */
  onChange(listener: (change: FlagsChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #apply(after: Flags, by: string | null): FlagsChange {
    const change: FlagsChange = { before: this.current(), after: { ...after }, by };
    this.#flags = after;
    if (FLAG_NAMES.some((name) => change.before[name] !== after[name])) {
      for (const listener of this.#listeners) listener(change);
    }
    return change;
  }
}
