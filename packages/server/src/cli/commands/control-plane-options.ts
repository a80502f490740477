import { type Command, Option } from "commander";
import type { Config } from "../../config/env.js";
import { databaseIdFrom, projectIdFrom } from "../../config/gcp.js";
import { type ControlPlane, DEFAULT_DATABASE } from "../../gcp/control-plane.js";
import {
  CONTROL_PLANE_KINDS,
  type ControlPlaneKind,
  type ControlPlaneTarget,
  createControlPlane,
  defaultControlPlaneKind,
} from "../../gcp/select.js";

/** The options every command that acts on the GCP control plane takes. */
export interface ControlPlaneOptions {
  project?: string;
  database?: string;
  controlPlane?: ControlPlaneKind;
  json?: boolean;
}

/** Adds `--project`, `--database` (unless the command has its own), `--control-plane` and `--json`. */
export function withControlPlaneOptions(
  command: Command,
  {
    database = true,
    kinds = CONTROL_PLANE_KINDS,
  }: { database?: boolean; kinds?: readonly ControlPlaneKind[] } = {},
): Command {
  command.option("--project <project>", "GCP project (env GOOGLE_CLOUD_PROJECT)");
  if (database) {
    command.option("--database <id>", "Firestore database (env FIRESTORE_DATABASE_ID, default (default))");
  }
  return command
    .addOption(
      new Option(
        "--control-plane <kind>",
        kinds.includes("none")
          ? "how to reach the GCP control plane (default gcloud; none under the emulator)"
          : "how to reach the GCP control plane (default gcloud)",
      ).choices(kinds),
    )
    .option("--json", "print the result as JSON");
}

/** The target and the control plane for the command's options, on the configuration parsed at the edge. */
export function resolveControlPlane(
  options: ControlPlaneOptions,
  config: Config,
  databaseId = databaseIdFrom(options.database, config.firestore.databaseId ?? DEFAULT_DATABASE),
): { target: ControlPlaneTarget; controlPlane: ControlPlane | null } {
  const target = { projectId: projectIdFrom(options.project, config.firestore.projectId), databaseId };
  const kind = options.controlPlane ?? defaultControlPlaneKind(config.firestore.kind === "emulator");
  return { target, controlPlane: createControlPlane(kind, target, config.gcp) };
}

/** The emulator's `host:port` when the configuration names one (the bootstrap document goes there). */
export function emulatorHostOf(config: Config): string | undefined {
  return config.firestore.kind === "emulator" ? config.firestore.host : undefined;
}
