import { Command, CommanderError, Help, type Option } from "commander";
import { ConfigError } from "../config/config-error.js";
import { CommandFailed, UsageError } from "./errors.js";

type Register = (program: Command) => void;

/**
 * Every command module: the commands it declares, each with the line `firebrick --help` shows for it.
 * Only the module of the command being run is loaded (`firebrick --help` loads none of them): the
 * commands' dependencies (Fastify, the Firestore SDK, the GCP clients) take seconds to load.
 */
const MODULES: ReadonlyArray<{ commands: Record<string, string>; register: () => Promise<Register> }> = [
  {
    commands: { serve: "serve the HTTP API and dashboard" },
    register: async () => (await import("./commands/serve.js")).registerServe,
  },
  {
    commands: {
      bootstrap: "provision and check Firestore and the bootstrap document (idempotent, fail-closed)",
    },
    register: async () => (await import("./commands/bootstrap.js")).registerBootstrap,
  },
  {
    commands: { env: "an environment's GCP setup: APIs, its service account bas-app-<env>, roles, secrets" },
    register: async () => (await import("./commands/env.js")).registerEnv,
  },
  {
    commands: {
      indexes:
        "Firestore composite indexes, exemptions and single-field index overrides (infra/firestore.indexes.json)",
    },
    register: async () => (await import("./commands/indexes.js")).registerIndexes,
  },
  {
    commands: { ttl: "Firestore TTL policies (fieldOverrides with ttl: true)" },
    register: async () => (await import("./commands/ttl.js")).registerTtl,
  },
  {
    commands: { tenants: "manage tenants" },
    register: async () => (await import("./commands/tenants.js")).registerTenants,
  },
  {
    commands: { users: "manage users" },
    register: async () => (await import("./commands/users.js")).registerUsers,
  },
  {
    commands: { devices: "manage devices" },
    register: async () => (await import("./commands/devices.js")).registerDevices,
  },
  {
    commands: {
      migrate: "move accounts from a legacy SQLite store to Firestore",
      backfill: "copy recent history from a legacy SQLite store to Firestore",
      compare: "compare SQLite and Firestore",
      rollups: "recompute Firestore trend rollups from raw points",
    },
    register: async () => (await import("./commands/migrate.js")).registerMigrate,
  },
  {
    commands: { flags: "the platform operator's routing flags: show, or set NAME=on|off for every instance" },
    register: async () => (await import("./commands/flags.js")).registerFlags,
  },
  {
    commands: { audit: "the platform audit log (--platform): service-wide actions, newest first" },
    register: async () => (await import("./commands/audit.js")).registerAudit,
  },
  {
    commands: { locks: "live locks of the service's jobs (Firestore when configured, else the SQLite file)" },
    register: async () => {
      const [{ registerLocks }, { registerLocksDrift }] = await Promise.all([
        import("./commands/locks.js"),
        import("./commands/locks-drift.js"),
      ]);
      return (program) => {
        registerLocks(program);
        registerLocksDrift(program);
      };
    },
  },
  {
    commands: {
      simulate: "feed plausible BAS telemetry for N simulated zones through the HTTP API, until Ctrl-C",
    },
    register: async () => (await import("./commands/simulate.js")).registerSimulate,
  },
];

/**
 * The `firebrick` command line. Exit status: 0 success, 1 failed check or operation, 2 bad usage or
 * configuration. `argv` decides which command's module is loaded (all of them when it is not given):
 * the others are listed by name and summary only.
 */
export async function buildProgram(argv?: string[]): Promise<Command> {
  const program = new Command("firebrick")
    .description("Firebrick: multi-tenant telemetry for building-automation systems")
    .showHelpAfterError("(run with --help for usage)")
    // Every command created below inherits this: `--help` marks the options a command cannot run without.
    .configureHelp({ optionDescription: describeOption })
    .exitOverride();
  const words = argv?.slice(2).filter((arg) => !arg.startsWith("-")) ?? [];
  // `firebrick help serve` shows serve's full help, so serve is the one to load.
  const invoked = words[0] === "help" ? words[1] : words[0];
  for (const { commands, register } of MODULES) {
    if (argv === undefined || (invoked !== undefined && invoked in commands)) (await register())(program);
    for (const [name, summary] of Object.entries(commands)) {
      // The module's own command when it was loaded, a stub that only lists it otherwise.
      const command =
        program.commands.find((candidate) => candidate.name() === name) ?? program.command(name);
      command.description(summary);
    }
  }
  for (const command of program.commands) command.exitOverride();
  return program;
}

const plainHelp = new Help();

/** An option's line in `--help`: commander's own (choices, default), with "(required)" for mandatory ones. */
function describeOption(option: Option): string {
  const described = plainHelp.optionDescription(option);
  return option.mandatory ? `${described} (required)` : described;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await (await buildProgram(argv)).parseAsync(argv);
  } catch (error) {
    process.exitCode = exitCodeFor(error);
  }
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has already printed its message (or the help text).
    return error.exitCode === 0 ? 0 : 2;
  }
  // config-error.ts has no dependencies: importing it keeps `--help` from loading zod (config/env.ts).
  if (error instanceof ConfigError || error instanceof UsageError) {
    console.error(`firebrick: ${error.message}`);
    return 2;
  }
  if (error instanceof CommandFailed) {
    console.error(`firebrick: ${error.message}`);
    return 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  console.error(`firebrick: ${message}`);
  return 1;
}
