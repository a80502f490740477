import { type Command, Option } from "commander";
import { DEFAULT_BOOTSTRAP_CONFIG, loadBootstrapConfig } from "../../bootstrap/config.js";
import { bootstrapReportJson, formatBootstrapReport } from "../../bootstrap/report.js";
import { runBootstrap } from "../../bootstrap/run.js";
import { loadConfig } from "../../config/env.js";
import {
  CONTROL_PLANE_KINDS,
  type ControlPlaneKind,
  createControlPlane,
  defaultControlPlaneKind,
  firestoreFor,
  resolveProjectId,
} from "../../gcp/select.js";
import { CommandFailed } from "../errors.js";

interface BootstrapOptions {
  config?: string;
  project?: string;
  preflight?: boolean;
  controlPlane?: ControlPlaneKind;
  json?: boolean;
}

export function registerBootstrap(program: Command): void {
  program
    .command("bootstrap")
    .option(
      "--config <file>",
      "YAML file in the extensions: firestore-sessions: shape (default: the seed's defaults)",
    )
    .option("--project <project>", "GCP project (env GOOGLE_CLOUD_PROJECT)")
    .option("--preflight", "check only: any needed change is a failure, nothing is changed")
    .addOption(
      new Option(
        "--control-plane <kind>",
        "how to reach the GCP control plane (default gcloud; none under the emulator)",
      ).choices(CONTROL_PLANE_KINDS),
    )
    .option("--json", "print the report as JSON")
    .action(async (options: BootstrapOptions) => {
      const env = loadConfig(process.env);
      const { config } = options.config
        ? loadBootstrapConfig(options.config)
        : { config: DEFAULT_BOOTSTRAP_CONFIG };
      const projectId = resolveProjectId(options.project, env.firestore.projectId);
      const controlPlane = createControlPlane(options.controlPlane ?? defaultControlPlaneKind(), projectId);
      const report = await runBootstrap({
        config,
        projectId,
        controlPlane,
        preflight: options.preflight ?? false,
        firestore: () => firestoreFor(controlPlane, projectId),
      });
      process.stdout.write(options.json ? bootstrapReportJson(report) : formatBootstrapReport(report));
      if (!report.compliant) {
        const failed = report.checks.filter((check) => check.status === "failed").length;
        throw new CommandFailed(`not compliant: ${failed} check${failed === 1 ? "" : "s"} failed`);
      }
    });
}
