import type { FleetFlags, SavedFlags } from "../../fleet/types.js";
import { AREAS, type Area } from "./areas.js";

/**
 * The routing flags (docs/design/store-routing.md): each area on Firestore (true) or SQLite (false), plus
 * the optional telemetry dual-write window (writes to both stores; reads stay where `telemetry` says).
 */
export type Flags = Record<Area, boolean> & { telemetry_dual_write: boolean };
export const FLAG_NAMES = [...AREAS, "telemetry_dual_write"] as const satisfies readonly (keyof Flags)[];

/** A change of the flags in force, and who made it (e.g. `cli:alice@ops-1`; null if nobody said). */
export interface FlagsChange {
  before: Flags;
  after: Flags;
  by: string | null;
}

/** The flags with every name set: `defaults` under what was saved. */
export function completeFlags(
  defaults: Record<Area, boolean> & Partial<Flags>,
  saved?: Partial<Flags>,
): Flags {
  return { telemetry_dual_write: false, ...defaults, ...saved };
}

/**
 * The flags in force on this instance. They live in the service-wide state (`fleet/`, docs/design/fleet.md),
 * where every instance reads the same ones: `update` changes them there and applies them here at once;
 * a change made anywhere else arrives through the state's watch (`observe`). Reads are synchronous and
 * cheap (every store call consults them). Every change, made here or observed, is announced to
 * `onChange` listeners (the store router turns it into area moves).
 */
export class FlagsState {
  #flags: Flags;
  readonly #listeners = new Set<(change: FlagsChange) => void>();

  /**
   * `initial`: the flags in force at start (the saved ones over the environment's, see
   * `runtime/open-stores.ts`); `store`: where changes are saved, and what `update` changes atomically.
   */
  constructor(
    private readonly store: FleetFlags,
    initial: Record<Area, boolean> & Partial<Flags>,
  ) {
    this.#flags = completeFlags(initial);
  }

  current(): Flags {
    return { ...this.#flags };
  }

  /**
   * Changes the saved flags atomically (`change` gets the saved ones, which another instance may have
   * changed a moment ago) and applies the result here. `by` names who changed them.
   */
  async update(change: (current: Flags) => Flags, by: string, at: number): Promise<FlagsChange> {
    const { before, after } = await this.store.update(this.current(), change, by, at);
    this.#apply(after, by);
    return { before, after, by };
  }

  /** Applies flags saved elsewhere (the watch of the service-wide state). */
  observe(saved: SavedFlags): void {
    this.#apply(completeFlags(this.#flags, saved.flags), saved.by);
  }

  /**
   * Calls `listener` after each change of the flags in force (synchronously: listeners must be quick and
   * must not throw). Returns the function that unsubscribes it.
   */
  onChange(listener: (change: FlagsChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #apply(after: Flags, by: string | null): void {
    const change: FlagsChange = { before: this.current(), after: { ...after }, by };
    if (FLAG_NAMES.every((name) => change.before[name] === after[name])) return;
    this.#flags = { ...after };
    for (const listener of this.#listeners) listener(change);
  }
}
