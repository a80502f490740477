import { Command, CommanderError } from "commander";
import { ConfigError } from "../config/env.js";
import { registerBootstrap } from "./commands/bootstrap.js";
import { registerDevices } from "./commands/devices.js";
import { registerEnv } from "./commands/env.js";
import { registerIndexes } from "./commands/indexes.js";
import { registerLocks } from "./commands/locks.js";
import { registerLocksDrift } from "./commands/locks-drift.js";
import { registerMigrate } from "./commands/migrate.js";
import { registerServe } from "./commands/serve.js";
import { registerSimulate } from "./commands/simulate.js";
import { registerTenants } from "./commands/tenants.js";
import { registerTtl } from "./commands/ttl.js";
import { registerUsers } from "./commands/users.js";
import { CommandFailed, UsageError } from "./errors.js";

/** The `firebrick` command line. Exit status: 0 success, 1 failed check or operation, 2 bad usage or configuration. */
export function buildProgram(): Command {
  const program = new Command("firebrick")
    .description("Firebrick: multi-tenant telemetry for building-automation systems")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  registerServe(program);
  registerBootstrap(program);
  registerEnv(program);
  registerIndexes(program);
  registerTtl(program);
  registerTenants(program);
  registerUsers(program);
  registerDevices(program);
  registerMigrate(program);
  registerLocks(program);
  registerLocksDrift(program);
  registerSimulate(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    process.exitCode = exitCodeFor(error);
  }
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has already printed its message (or the help text).
    return error.exitCode === 0 ? 0 : 2;
  }
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
