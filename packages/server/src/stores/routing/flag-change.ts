import type { PlatformAuditLog } from "../../fleet/types.js";
import type { Clock, TenantId } from "../types.js";
import { AREAS, type Area } from "./areas.js";
import { FLAG_NAMES, type Flags, type FlagsState } from "./flags.js";
import type { StoreRouter } from "./router.js";

/**
 * Why telemetry reads may not move to Firestore yet; an empty list means they may
 * (`migrate/cutover.ts`): the composite indexes must be READY, and at the end of a dual-write window
 * the last sample comparison green too.
 */
export type TelemetryFlipGate = (when: { endingDualWrite: boolean }) => Promise<string[]>;

/** A flag change that was refused; nothing changed. */
export class FlagChangeRefusedError extends Error {
  override name = "FlagChangeRefusedError";
  constructor(
    /** `firestore_not_configured`: bad input (exit 2); `telemetry_flip_blocked`: not yet (exit 1). */
    readonly reason: "firestore_not_configured" | "telemetry_flip_blocked",
    message: string,
  ) {
    super(message);
  }
}

export interface FlagChange {
  before: Flags;
  after: Flags;
  /** The areas now served by the other store. */
  moved: Area[];
  /** Sessions revoked because the auth area moved (everyone signs in again). */
  revokedSessions: number;
  /** Whether the auth flag changed: a caller's own session cookie is then void too. */
  authChanged: boolean;
  /** The tenants whose audit log received the change. */
  tenantsNotified: number;
}

export interface FlagChangeContext {
  flags: FlagsState;
  router: StoreRouter;
  clock: Clock;
  /** Present with Firestore: the readiness gate of every off→on change of telemetry reads. */
  telemetryGate?: TelemetryFlipGate | undefined;
  platformAudit: PlatformAuditLog;
}

/**
 * The one way to change the routing flags (docs/design/store-routing.md), for the platform operator's
 * `firebrick flags set`: it
 * - refuses to route anything to Firestore when none is configured;
 * - moves telemetry reads to Firestore only once the readiness gate is clear: the composite indexes
 *   READY, and at the end of a dual-write window the last sample comparison green;
 * - saves the flags in the service-wide state, atomically; every instance applies them within 2 s
 *   (docs/design/fleet.md) and this one at once;
 * - does once what must happen once: an auth change (cutover or rollback) revokes every session of the
 *   store it leaves, so that none can come back to life if the flag flips back (every instance also
 *   clears its own SQLite file's when it sees the move);
 * - records the change in the platform audit log, and in the audit log of every tenant, whose data
 *   it moved.
 * A change that changes nothing does none of this.
 *
 * @example
 * const change = await changeFlags(context, { telemetry: true }, "cli:alice@ops-1");
 */
export async function changeFlags(
  context: FlagChangeContext,
  requested: Partial<Flags>,
  actor: string,
): Promise<FlagChange> {
  const { flags, router } = context;
  const current = flags.current();
  const wanted: Flags = { ...current, ...requested };
  if (FLAG_NAMES.some((name) => wanted[name] && !current[name]) && !router.firestoreConfigured) {
    throw new FlagChangeRefusedError(
      "firestore_not_configured",
      "Firestore is not configured (set GOOGLE_CLOUD_PROJECT or FIRESTORE_EMULATOR_HOST)",
    );
  }
  if (wanted.telemetry && !current.telemetry && context.telemetryGate) {
    const blockers = await context.telemetryGate({ endingDualWrite: wanted.telemetry_dual_write });
    if (blockers.length > 0) {
      throw new FlagChangeRefusedError(
        "telemetry_flip_blocked",
        `Telemetry reads stay on SQLite: ${blockers.join("; ")}.`,
      );
    }
  }
  const now = context.clock();
  // The sessions of the store the auth area leaves are revoked first, so that the count is theirs
  // (instances that see the move clear that store again: a session started there in the meantime dies too).
  const leaving = wanted.auth !== current.auth;
  const storeLeft = router.all().find(({ backend }) => backend === router.backendOf("auth"))?.stores;
  const revokedSessions = leaving ? ((await storeLeft?.sessions.deleteAll()) ?? 0) : 0;
  const { before, after } = await flags.update((saved) => ({ ...saved, ...requested }), actor, now);
  const changed = FLAG_NAMES.filter((name) => before[name] !== after[name]);
  const moved = AREAS.filter((area) => router.backendIn(before, area) !== router.backendIn(after, area));
  const authChanged = before.auth !== after.auth;
  const result: FlagChange = { before, after, moved, revokedSessions, authChanged, tenantsNotified: 0 };
  if (changed.length === 0) return result;

  const details = { before, after, changed, moved, revoked_sessions: result.revokedSessions };
  await context.platformAudit.append({
    action: "flags.update",
    actor,
    timestamp_ms: now,
    outcome: "success",
    target: "flags",
    details,
  });
  for (const tenant of await everyTenant(router)) {
    await router.stores.audit.append(tenant, {
      action: "flags.update",
      outcome: "success",
      user_id: null,
      timestamp_ms: now,
      target: "flags",
      details: { ...details, by: actor, via: "platform" },
    });
    result.tenantsNotified += 1;
  }
  return result;
}

/** The tenants of every store (after a cutover a tenant may so far exist in one of them only). */
async function everyTenant(router: StoreRouter): Promise<TenantId[]> {
  const lists = await Promise.all(router.all().map(({ stores }) => stores.tenants.list()));
  return [...new Set(lists.flat().map((tenant) => tenant.id))].sort();
}
