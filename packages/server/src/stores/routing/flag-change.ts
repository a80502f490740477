import type { Clock } from "../types.js";
import { FLAG_NAMES, type Flags, type FlagsState } from "./flags.js";
import type { StoreRouter } from "./router.js";

/**
 * Why telemetry reads may not move to Firestore yet at the end of a dual-write window; an empty list
 * means they may (`migrate/cutover.ts` checks the index and the last sample comparison).
 */
export type TelemetryFlipGate = () => Promise<string[]>;

/** A flag change that was refused; nothing changed. */
export class FlagChangeRefusedError extends Error {
  override name = "FlagChangeRefusedError";
  constructor(
    /** `firestore_not_configured`: bad input (400, exit 2); `telemetry_flip_blocked`: not yet (409, exit 1). */
    readonly reason: "firestore_not_configured" | "telemetry_flip_blocked",
    message: string,
  ) {
    super(message);
  }
}

export interface FlagChange {
  before: Flags;
  after: Flags;
  /** Sessions revoked because the auth area moved (everyone signs in again). */
  revokedSessions: number;
  /** Whether the auth flag changed: the caller's own session cookie is then void too. */
  authChanged: boolean;
}

/**
 * Changes the routing flags, with every consequence (docs/design/store-routing.md), for the admin API
 * and the command line alike:
 * - refuses to route anything to Firestore when none is configured;
 * - at the end of a dual-write window, moves telemetry reads only once the flip gate is clear;
 * - persists the flags, which takes effect at the next store call; caches of the moved areas hear of it
 *   through `StoreRouter.onAreaMoved`, on this instance at once and on the others at their next reload;
 * - an auth change (cutover or rollback) revokes every session of the store it leaves, so that they
 *   cannot come back to life if the flag flips back: everyone signs in again.
 * The caller audits the change.
 *
 * @example
 * const change = await changeFlags(ctx, { telemetry: true }, `user:${user.id}`);
 */
export async function changeFlags(
  routing: {
    flags: FlagsState;
    router: StoreRouter;
    clock: Clock;
    telemetryFlipGate?: TelemetryFlipGate | undefined;
  },
  requested: Partial<Flags>,
  by: string,
): Promise<FlagChange> {
  const { flags, router } = routing;
  const before = flags.current();
  const next: Flags = { ...before, ...requested };
  if (FLAG_NAMES.some((name) => next[name] && !before[name]) && !router.firestoreConfigured) {
    throw new FlagChangeRefusedError(
      "firestore_not_configured",
      "Firestore is not configured (set GOOGLE_CLOUD_PROJECT or FIRESTORE_EMULATOR_HOST and restart)",
    );
  }
  if (next.telemetry && !before.telemetry && next.telemetry_dual_write && routing.telemetryFlipGate) {
    // Ending a dual-write window: reads move only once the index is READY and a comparison is green.
    const blockers = await routing.telemetryFlipGate();
    if (blockers.length > 0) {
      throw new FlagChangeRefusedError(
        "telemetry_flip_blocked",
        `Telemetry reads stay on SQLite: ${blockers.join("; ")}.`,
      );
    }
  }
  const sessionsBefore = router.stores.sessions;
  const { after } = flags.set(next, routing.clock(), by);
  const authChanged = before.auth !== after.auth;
  const revokedSessions = authChanged ? await sessionsBefore.deleteAll() : 0;
  return { before, after, revokedSessions, authChanged };
}
