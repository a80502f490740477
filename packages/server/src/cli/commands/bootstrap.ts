import type { Command } from "commander";
import { DEFAULT_BOOTSTRAP_CONFIG, loadBootstrapConfig } from "../../bootstrap/config.js";
import { WEAKENING_FLAG } from "../../bootstrap/protection.js";
import { bootstrapReportJson, formatBootstrapReport } from "../../bootstrap/report.js";
import { runBootstrap } from "../../bootstrap/run.js";
import { ConfigError } from "../../config/config-error.js";
import { DEFAULT_DATABASE } from "../../gcp/control-plane.js";
import { firestoreFor } from "../../gcp/select.js";
import { loadStartupConfig } from "../../runtime/startup-config.js";
import { CommandFailed } from "../errors.js";
import {
  type ControlPlaneOptions,
  emulatorHostOf,
  resolveControlPlane,
  withControlPlaneOptions,
} from "./control-plane-options.js";

interface BootstrapOptions extends ControlPlaneOptions {
  config?: string;
  preflight?: boolean;
  allowWeakerProtection?: boolean;
}

export function registerBootstrap(program: Command): void {
  withControlPlaneOptions(
    program
      .command("bootstrap")
      .option(
        "--config <file>",
        "YAML file in the extensions: firestore-sessions: shape (default: the seed's defaults)",
      )
      .option("--preflight", "check only: any needed change is a failure, nothing is changed")
      .option(
        WEAKENING_FLAG,
        "let the run turn point-in-time recovery or delete protection off, or shorten or replace a backup schedule",
      ),
    // The database is the configuration file's database_id (or FIRESTORE_DATABASE_ID).
    { database: false },
  ).action(async (options: BootstrapOptions) => {
    const config = await loadStartupConfig();
    const extension = options.config
      ? loadBootstrapConfig(options.config)
      : { config: DEFAULT_BOOTSTRAP_CONFIG, requiredRoles: [], setKeys: [] };
    const databaseId = bootstrapDatabase(
      extension.setKeys.includes("database_id"),
      extension.config.databaseId,
      config.firestore.databaseId ?? DEFAULT_DATABASE,
    );
    const { target, controlPlane } = resolveControlPlane(options, config, databaseId);
    const report = await runBootstrap({
      config: { ...extension.config, databaseId },
      projectId: target.projectId,
      controlPlane,
      preflight: options.preflight ?? false,
      requiredRoles: extension.requiredRoles,
      allowWeakerProtection: options.allowWeakerProtection ?? false,
      firestore: () => firestoreFor(controlPlane, target, emulatorHostOf(config)),
    });
    process.stdout.write(options.json ? bootstrapReportJson(report) : formatBootstrapReport(report));
    if (!report.compliant) {
      const failed = report.checks.filter((check) => check.status === "failed").length;
      throw new CommandFailed(`not compliant: ${failed} check${failed === 1 ? "" : "s"} failed`);
    }
  });
}

/**
 * The database the bootstrap provisions: the file's `database_id` when it sets one, else the service's
 * `FIRESTORE_DATABASE_ID`. Two different names would provision one database and serve from another.
 */
function bootstrapDatabase(fileSetsIt: boolean, fromFile: string, fromEnvironment: string): string {
  if (!fileSetsIt) return fromEnvironment;
  if (fromEnvironment !== "(default)" && fromEnvironment !== fromFile) {
    throw new ConfigError(
      "extensions.firestore-sessions.config.database_id",
      `the database FIRESTORE_DATABASE_ID names (${fromEnvironment})`,
      fromFile,
    );
  }
  return fromFile;
}
