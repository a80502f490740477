import { createInterface } from "node:readline/promises";
import type { Command } from "commander";
import { driftStatuses, findIndexDrift, pruneIndexDrift } from "../../bootstrap/index-drift.js";
import {
  deployIndexes,
  type IndexDefinitions,
  type ItemStatus,
  indexesStatus,
  loadIndexDefinitions,
} from "../../bootstrap/indexes.js";
import type { ControlPlane } from "../../gcp/control-plane.js";
import { loadStartupConfig } from "../../runtime/startup-config.js";
import { CommandFailed, UsageError } from "../errors.js";
import {
  type ControlPlaneOptions,
  resolveControlPlane,
  withControlPlaneOptions,
} from "./control-plane-options.js";

export interface GateCommandOptions extends ControlPlaneOptions {
  file?: string;
}

/** The options `indexes` and `ttl` subcommands share. */
export function withGateOptions(command: Command): Command {
  return withControlPlaneOptions(
    command.option("--file <file>", "index definitions (default infra/firestore.indexes.json)"),
  );
}

/** Resolves the options, runs `operation` (or reports it skipped without a control plane), prints, gates. */
export async function runGateCommand(
  options: GateCommandOptions,
  gate: "READY" | "ACTIVE",
  operation: (controlPlane: ControlPlane, definitions: IndexDefinitions) => Promise<ItemStatus[]>,
  { requireReady }: { requireReady: boolean },
): Promise<void> {
  const config = await loadStartupConfig();
  const definitions = loadIndexDefinitions(options.file);
  const { target, controlPlane } = resolveControlPlane(options, config);
  if (!controlPlane) {
    const message = "skipped: no control plane (the emulator needs no indexes or TTL policies)";
    process.stdout.write(options.json ? `${JSON.stringify({ skipped: true, items: [] })}\n` : `${message}\n`);
    return;
  }
  const items = await operation(controlPlane, definitions);
  const drift = items.filter((item) => item.drift && !item.changed);
  const notReady = items.filter((item) => !item.ready && !item.drift);
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({
        project_id: target.projectId,
        database_id: target.databaseId,
        ready: notReady.length === 0,
        drift: drift.length,
        items,
      })}\n`,
    );
  } else {
    for (const item of items) {
      const note = item.detail ? `  (${item.detail})` : "";
      const label = item.changed ? "changed" : item.drift ? "DRIFT  " : item.ready ? "ok     " : "waiting";
      process.stdout.write(`  ${label}  ${item.state.padEnd(12)} ${item.item}${note}\n`);
    }
    const declared = items.length - items.filter((item) => item.drift).length;
    process.stdout.write(
      notReady.length === 0 ? `all ${gate}\n` : `${notReady.length} of ${declared} not ${gate} yet\n`,
    );
    if (drift.length > 0) {
      process.stdout.write(
        `${drift.length} undeclared (drift): remove with firebrick indexes deploy --prune\n`,
      );
    }
  }
  if (requireReady && notReady.length > 0)
    throw new CommandFailed(`${notReady.length} of ${items.length - drift.length} not ${gate}`);
  if (requireReady && drift.length > 0) throw new CommandFailed(`${drift.length} undeclared (drift)`);
}

interface DeployOptions extends GateCommandOptions {
  prune?: boolean;
  yes?: boolean;
}

export function registerIndexes(program: Command): void {
  const indexes = program.command("indexes");
  withGateOptions(
    indexes
      .command("status")
      .description(
        "show each index's state and any undeclared one; exit 0 only when all are READY and none is undeclared",
      ),
  ).action((options: GateCommandOptions) =>
    runGateCommand(
      options,
      "READY",
      async (controlPlane, definitions) => [
        ...(await indexesStatus(controlPlane, definitions)),
        ...driftStatuses(await findIndexDrift(controlPlane, definitions)),
      ],
      { requireReady: true },
    ),
  );
  withGateOptions(
    indexes
      .command("deploy")
      .description("create missing indexes, exemptions and field index overrides (then: indexes status)")
      .option("--prune", "also delete undeclared indexes, field overrides and TTL policies (asks first)")
      .option("--yes", "with --prune: delete without asking"),
  ).action((options: DeployOptions) =>
    runGateCommand(
      options,
      "READY",
      async (controlPlane, definitions) => {
        const drift = await findIndexDrift(controlPlane, definitions);
        // Asked before anything changes: a refusal leaves the project as it was.
        if (options.prune && drift.length > 0 && !options.yes)
          await confirmPrune(drift.map((entry) => entry.item));
        const deployed = await deployIndexes(controlPlane, definitions);
        if (!options.prune) return [...deployed, ...driftStatuses(drift)];
        return [...deployed, ...(await pruneIndexDrift(controlPlane, drift))];
      },
      { requireReady: false },
    ),
  );
}

/** Asks on the terminal before deleting; without a terminal, `--yes` is the only confirmation. */
async function confirmPrune(items: string[]): Promise<void> {
  const listing = items.map((item) => `  ${item}`).join("\n");
  if (!process.stdin.isTTY) {
    throw new UsageError(
      `--prune would delete ${items.length} undeclared item${items.length === 1 ? "" : "s"}; confirm with --yes:\n${listing}`,
    );
  }
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const what = items.length === 1 ? "this undeclared item" : `these ${items.length} undeclared items`;
    const answer = await prompt.question(`Delete ${what}?\n${listing}\n[y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new CommandFailed("prune cancelled: nothing was changed");
  } finally {
    prompt.close();
  }
}
