import { type Command, Option } from "commander";
import { ENVIRONMENTS, type Environment } from "../../environment/catalogue.js";
import { provisionEnvironment } from "../../environment/provision.js";
import { environmentReportJson, formatEnvironmentReport } from "../../environment/report.js";
import { parseSecretValues } from "../../environment/secret-values.js";
import { loadStartupConfig } from "../../runtime/startup-config.js";
import { CommandFailed, UsageError } from "../errors.js";
import {
  type ControlPlaneOptions,
  resolveControlPlane,
  withControlPlaneOptions,
} from "./control-plane-options.js";

interface EnvOptions extends ControlPlaneOptions {
  environment: Environment;
  secretsStdin?: boolean;
}

export function registerEnv(program: Command): void {
  const env = program.command("env");
  const common = (command: Command) =>
    withControlPlaneOptions(
      command.addOption(
        new Option("--environment <env>", "dev, stg or prod").choices(ENVIRONMENTS).makeOptionMandatory(),
      ),
      { database: false, kinds: ["gcloud", "rest"] },
    );
  common(
    env
      .command("plan")
      .description("show what apply would change, changing nothing; exit 0 only when nothing is to change"),
  ).action((options: EnvOptions) => runEnv(options, false));
  common(
    env
      .command("apply")
      .description(
        "make the environment so: enable APIs, create the account, grant roles, create absent secrets",
      )
      .option("--secrets-stdin", "read values for absent secrets from stdin, as NAME=VALUE lines"),
  ).action((options: EnvOptions) => runEnv(options, true));
}

async function runEnv(options: EnvOptions, apply: boolean): Promise<void> {
  const config = await loadStartupConfig();
  const { controlPlane } = resolveControlPlane(
    { ...options, controlPlane: options.controlPlane ?? "gcloud" },
    config,
  );
  if (!controlPlane) throw new UsageError("env needs a control plane (gcloud or rest)");
  const secretValues = options.secretsStdin ? parseSecretValues(await readStdin()) : undefined;
  const report = await provisionEnvironment({
    controlPlane,
    environment: options.environment,
    apply,
    ...(secretValues && { secretValues }),
  });
  process.stdout.write(options.json ? environmentReportJson(report) : formatEnvironmentReport(report));
  if (report.steps.some((step) => step.status === "failed"))
    throw new CommandFailed("the environment is not compliant");
  if (!report.compliant) throw new CommandFailed("changes to make (run firebrick env apply)");
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError("--secrets-stdin: pipe the values in (NAME=VALUE lines)");
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
