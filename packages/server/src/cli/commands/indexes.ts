import { type Command, Option } from "commander";
import {
  deployIndexes,
  type ItemStatus,
  indexesStatus,
  loadIndexDefinitions,
} from "../../bootstrap/indexes.js";
import { loadConfig } from "../../config/env.js";
import {
  CONTROL_PLANE_KINDS,
  type ControlPlaneKind,
  createControlPlane,
  defaultControlPlaneKind,
  resolveProjectId,
} from "../../gcp/select.js";
import { CommandFailed } from "../errors.js";

export interface GateCommandOptions {
  file?: string;
  project?: string;
  controlPlane?: ControlPlaneKind;
  json?: boolean;
}

/** The options `indexes` and `ttl` subcommands share. */
export function withGateOptions(command: Command): Command {
  return command
    .option("--file <file>", "index definitions (default infra/firestore.indexes.json)")
    .option("--project <project>", "GCP project (env GOOGLE_CLOUD_PROJECT)")
    .addOption(
      new Option(
        "--control-plane <kind>",
        "how to reach the GCP control plane (default gcloud; none under the emulator)",
      ).choices(CONTROL_PLANE_KINDS),
    )
    .option("--json", "print the result as JSON");
}

/** Resolves the options, runs `operation` (or reports it skipped without a control plane), prints, gates. */
export async function runGateCommand(
  options: GateCommandOptions,
  gate: "READY" | "ACTIVE",
  operation: (
    controlPlane: NonNullable<ReturnType<typeof createControlPlane>>,
    definitions: ReturnType<typeof loadIndexDefinitions>,
  ) => Promise<ItemStatus[]>,
  { requireReady }: { requireReady: boolean },
): Promise<void> {
  const env = loadConfig(process.env);
  const definitions = loadIndexDefinitions(options.file);
  const projectId = resolveProjectId(options.project, env.firestore.projectId);
  const controlPlane = createControlPlane(options.controlPlane ?? defaultControlPlaneKind(), projectId);
  if (!controlPlane) {
    const message = "skipped: no control plane (the emulator needs no indexes or TTL policies)";
    process.stdout.write(options.json ? `${JSON.stringify({ skipped: true, items: [] })}\n` : `${message}\n`);
    return;
  }
  const items = await operation(controlPlane, definitions);
  const notReady = items.filter((item) => !item.ready);
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ project_id: projectId, ready: notReady.length === 0, items })}\n`,
    );
  } else {
    for (const item of items) {
      const note = item.detail ? `  (${item.detail})` : "";
      process.stdout.write(
        `  ${item.ready ? "ok     " : item.changed ? "changed" : "waiting"}  ${item.state.padEnd(12)} ${item.item}${note}\n`,
      );
    }
    process.stdout.write(
      notReady.length === 0 ? `all ${gate}\n` : `${notReady.length} of ${items.length} not ${gate} yet\n`,
    );
  }
  if (requireReady && notReady.length > 0)
    throw new CommandFailed(`${notReady.length} of ${items.length} not ${gate}`);
}

export function registerIndexes(program: Command): void {
  const indexes = program.command("indexes");
  withGateOptions(
    indexes.command("status").description("show each index's state; exit 0 only when all are READY"),
  ).action((options: GateCommandOptions) =>
    runGateCommand(
      options,
      "READY",
      (controlPlane, definitions) => indexesStatus(controlPlane, definitions),
      {
        requireReady: true,
      },
    ),
  );
  withGateOptions(
    indexes
      .command("deploy")
      .description("create missing indexes, exemptions and field index overrides (then: indexes status)"),
  ).action((options: GateCommandOptions) =>
    runGateCommand(
      options,
      "READY",
      (controlPlane, definitions) => deployIndexes(controlPlane, definitions),
      {
        requireReady: false,
      },
    ),
  );
}
