/**
 * Service-wide state (docs/design/fleet.md): what every instance of one service must agree on, kept
 * where every instance sees it — in Firestore when one is configured, else in the SQLite file that the
 * processes on one host share. One interface, two implementations (`sqlite.ts`, `firestore.ts`), one
 * contract suite (`testing/contract.ts`), chosen once by `Config.firestore` (`runtime/open-stores.ts`).
 *
 * - `flags`: the routing flags, one record every instance routes by;
 * - `records`: small versioned records written by compare-and-set, the state of the fleet's limiters
 *   (`limiter.ts`); each carries an expiry after which it is gone (Firestore TTL, the SQLite retention job);
 * - `platformAudit`: the platform operator's audit log (service-wide actions, above the tenants);
 * - `changes`: a feed of changes every instance must hear of at once (a device's token rotated or the
 *   device deleted), so that caches can be long-lived;
 * - `watch`: delivers flag changes and feed entries to a running instance as they happen, and says
 *   whether it is hearing them (caches fall back to short lifetimes while it is not).
 */

import type { Flags } from "../stores/routing/flags.js";
import type { Page } from "../stores/types.js";

export type FleetBackend = "firestore" | "sqlite";

/** The routing flags as saved, with who saved them and when; names never saved are absent. */
export interface SavedFlags {
  flags: Partial<Flags>;
  by: string | null;
  updatedAt: number;
}

export interface FleetFlags {
  /** The saved flags; null if they were never saved. One read. */
  load(): Promise<SavedFlags | null>;
  /**
   * Saves `initial` unless flags were saved before (the first instance's environment wins, later ones
   * adopt what is saved); returns what is saved now, and whether this call saved it.
   */
  initialize(initial: Flags, by: string, at: number): Promise<SavedFlags & { created: boolean }>;
  /**
   * Changes the saved flags atomically: `change` receives the flags saved now (over `defaults` for names
   * never saved) and returns the new ones. Two concurrent updates never lose one another.
   */
  update(
    defaults: Flags,
    change: (current: Flags) => Flags,
    by: string,
    at: number,
  ): Promise<{ before: Flags; after: Flags }>;
}

/** A record as stored, and its version: an opaque token that changes with every write. */
export interface VersionedRecord {
  value: Record<string, unknown>;
  version: string;
}

export interface FleetRecords {
  /** One read (a missing record bills one too on Firestore). */
  read(id: string): Promise<VersionedRecord | null>;
  /**
   * Writes `value` if the record is still at version `expected` (`null`: if there is none). Returns the
   * new version, or null when another writer came first (nothing written). One write when it succeeds.
   * `kind` names what the record is, for an operator looking at the collection; `expireAt` (epoch ms) is
   * when it may be deleted, as if it had never been written.
   */
  write(
    id: string,
    kind: string,
    value: Record<string, unknown>,
    expected: string | null,
    expireAt: number,
  ): Promise<string | null>;
  delete(id: string): Promise<void>;
}

export interface PlatformAuditEntry {
  id: string;
  /** e.g. `flags.update`, `flags.update_denied`, `locks.force_release`. */
  action: string;
  /** Who acted: `cli:<os user>@<host>`, or for a refused attempt the tenant user (`user:<id>@<tenant>`). */
  actor: string;
  timestamp_ms: number;
  outcome: "success" | "failure" | "denied";
  target: string | null;
  details: Record<string, unknown>;
}

export type NewPlatformAuditEntry = Omit<PlatformAuditEntry, "id" | "target" | "details"> &
  Partial<Pick<PlatformAuditEntry, "target" | "details">>;

/** Platform audit entries are kept as long as tenants' (180 days). */
export interface PlatformAuditLog {
  append(entry: NewPlatformAuditEntry): Promise<PlatformAuditEntry>;
  /** Newest first, paged by an opaque cursor. */
  list(options: { limit: number; cursor?: string | null }): Promise<Page<PlatformAuditEntry>>;
}

/**
 * A change every instance must hear of: a device's token rotated, or the device deleted (`device`); or
 * webhook deliveries enqueued (`webhooks`, subject `deliveries`), which wakes the dispatcher wherever its
 * lock is held.
 */
export interface FleetChange {
  kind: "device" | "webhooks";
  tenant_id: string;
  /** The device id. */
  subject: string;
}

export interface ChangeFeed {
  /** One write; every watching instance hears of it (within 2 s while its watch is healthy). */
  publish(change: FleetChange): Promise<void>;
}

export interface FleetWatchListener {
  /** The saved flags changed (written by any instance or by the CLI). */
  flags(saved: SavedFlags): void;
  /** A change was published (by any instance, this one included). */
  change(change: FleetChange): void;
  /**
   * Whether the watch hears changes now. `healthy: true` comes once it is established (every change
   * published from then on is delivered); `false` after a failure, until it is established again.
   */
  health(healthy: boolean): void;
  /** A failure of the watch (it recovers by itself); for the log. */
  error(error: unknown): void;
}

export interface FleetState {
  readonly backend: FleetBackend;
  /** Where the state lives, for operators: the SQLite file, or the Firestore collections. */
  readonly location: string;
  flags: FleetFlags;
  records: FleetRecords;
  platformAudit: PlatformAuditLog;
  changes: ChangeFeed;
  /** Starts delivering changes to `listener` (the server does; CLI commands need not). */
  watch(listener: FleetWatchListener): { stop(): Promise<void> };
}
