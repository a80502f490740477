import type { Command } from "commander";
import type { OpenedStores } from "../../runtime/open-stores.js";
import { AREAS } from "../../stores/routing/areas.js";
import { changeFlags, FlagChangeRefusedError } from "../../stores/routing/flag-change.js";
import { FLAG_NAMES, type Flags } from "../../stores/routing/flags.js";
import { CommandFailed, UsageError } from "../errors.js";
import { platformActor } from "./platform-actor.js";
import { withStores } from "./stores.js";

type FlagName = (typeof FLAG_NAMES)[number];
const VALUES: Record<string, boolean> = {
  on: true,
  off: false,
  "1": true,
  "0": false,
  true: true,
  false: false,
};

/** `NAME=on|off` → the change it asks for; a wrong name or value is bad usage (exit 2). */
export function parseFlagAssignments(assignments: string[]): Partial<Flags> {
  const requested: Partial<Flags> = {};
  for (const assignment of assignments) {
    const [name, value, ...rest] = assignment.split("=");
    if (!(FLAG_NAMES as readonly string[]).includes(name ?? "") || rest.length > 0) {
      throw new UsageError(`unknown flag in ${JSON.stringify(assignment)}: one of ${FLAG_NAMES.join(", ")}`);
    }
    if (value === undefined || !(value.toLowerCase() in VALUES)) {
      throw new UsageError(`${JSON.stringify(assignment)}: the value is on or off (e.g. ${name}=on)`);
    }
    requested[name as FlagName] = VALUES[value.toLowerCase()]!;
  }
  if (assignments.length === 0)
    throw new UsageError("name at least one flag, e.g. firebrick flags set audit=on");
  return requested;
}

/**
 * `firebrick flags show|set`: the platform operator's control of where each area's data lives, for the
 * whole service (docs/design/fleet.md). A change is saved in the service-wide state, which every running
 * instance watches: it is in force everywhere within 2 s.
 */
export function registerFlags(program: Command): void {
  const flags = program.command("flags");

  flags
    .command("show")
    .description("the routing flags in force for the whole service, and the store of each area")
    .option("--json", "print JSON")
    .action((options: { json?: boolean }) =>
      withStores(async (opened) => {
        const saved = await opened.fleet.flags.load();
        const described = describe(opened, saved && { by: saved.by, at: saved.updatedAt });
        if (options.json) {
          print(JSON.stringify(described));
          return;
        }
        for (const name of FLAG_NAMES) {
          const store = (AREAS as readonly string[]).includes(name)
            ? `  (${described.stores[name as (typeof AREAS)[number]]})`
            : "";
          print(`${name.padEnd(22)}${described.flags[name] ? "on " : "off"}${store}`);
        }
        print(
          saved
            ? `saved by ${saved.by ?? "unknown"} at ${new Date(saved.updatedAt).toISOString()} in ${opened.fleet.location}`
            : `never saved: the environment's USE_FIRESTORE_* (the first server saves them in ${opened.fleet.location})`,
        );
        if (!opened.router.firestoreConfigured) print("Firestore is not configured: every area is on SQLite");
      }),
    );

  flags
    .command("set")
    .description(
      "change routing flags for every instance (NAME=on|off …); audited for the platform and every tenant",
    )
    .argument("<assignments...>", `${FLAG_NAMES.join("|")}=on|off`)
    .option("--json", "print JSON")
    .action((assignments: string[], options: { json?: boolean }) => {
      const requested = parseFlagAssignments(assignments);
      return withStores(async (opened) => {
        const actor = platformActor();
        let change: Awaited<ReturnType<typeof changeFlags>>;
        try {
          change = await changeFlags(
            {
              flags: opened.flags,
              router: opened.router,
              clock: Date.now,
              telemetryGate: opened.telemetryGate,
              platformAudit: opened.fleet.platformAudit,
            },
            requested,
            actor,
          );
        } catch (error) {
          if (!(error instanceof FlagChangeRefusedError)) throw error;
          if (error.reason === "firestore_not_configured") throw new UsageError(error.message);
          throw new CommandFailed(error.message);
        }
        if (options.json) {
          print(
            JSON.stringify({
              ...describe(opened, { by: actor, at: Date.now() }),
              before: change.before,
              moved: change.moved,
              revoked_sessions: change.revokedSessions,
              tenants_notified: change.tenantsNotified,
            }),
          );
          return;
        }
        const changed = FLAG_NAMES.filter((name) => change.before[name] !== change.after[name]);
        if (changed.length === 0) {
          print("nothing to change: the flags are already so");
          return;
        }
        for (const name of changed)
          print(`${name}: ${change.before[name] ? "on" : "off"} → ${change.after[name] ? "on" : "off"}`);
        for (const area of change.moved) print(`${area} moved to ${opened.router.backendOf(area)}`);
        if (change.authChanged)
          print(`signed out ${change.revokedSessions} sessions (everyone signs in again)`);
        print(
          `recorded in the platform audit log and in ${change.tenantsNotified} tenants' logs; ` +
            "every running instance applies it within 2 s",
        );
      });
    });
}

function describe(opened: OpenedStores, saved: { by: string | null; at: number } | null) {
  return {
    flags: opened.flags.current(),
    stores: opened.router.backends(),
    firestore_configured: opened.router.firestoreConfigured,
    saved_by: saved?.by ?? null,
    saved_at: saved?.at ?? null,
    state: opened.fleet.location,
  };
}

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}
