import { join } from "node:path";
import closeWithGrace from "close-with-grace";
import type { Command } from "commander";
import { type ConfigOverrides, loadConfig } from "../../config/env.js";
import { EmulatorUnavailableError, locateEmulator } from "../../firestore/emulator.js";
import { type LocalEmulator, startLocalEmulator } from "../../firestore/local-emulator.js";
import { createLogger, type Logger } from "../../observability/logger.js";
import { loadStartupConfig } from "../../runtime/startup-config.js";
import { startServer } from "../../server.js";
import { CommandFailed } from "../errors.js";

/** The project id on the emulator when none is configured (a `demo-` project never reaches GCP). */
const EMULATOR_PROJECT = "demo-firebrick";

export function registerServe(program: Command): void {
  program
    .command("serve")
    .option("--host <host>", "listen address (env HOST, default 127.0.0.1)")
    .option("--port <port>", "listen port (env PORT, default 8080)")
    .option(
      "--emulator",
      "start the local Firestore emulator (data kept in $FIREBRICK_DATA_DIR/firestore-emulator) and route every area to it",
    )
    .action(async (options: ConfigOverrides & { emulator?: boolean }) => {
      const overrides = { host: options.host, port: options.port };
      // FIREBRICK_SECRETS: read from Secret Manager once, here, before the configuration is final.
      let config = await loadStartupConfig(process.env, overrides);
      const logger = createLogger(config.logLevel, undefined, { debugSampleRate: config.debugSampleRate });
      let emulator: LocalEmulator | undefined;
      if (options.emulator) {
        // Nothing here runs on GCP: spare the SDK its metadata-server probe (and its warning).
        process.env.METADATA_SERVER_DETECTION ??= "none";
        emulator = await startEmulator(config.dataDir, projectIdFor(process.env), logger);
        // Child processes and every Firestore client of this process go to it; the flags are the initial
        // values (a flag changed through the admin API and persisted still wins, SPEC §6).
        process.env.FIRESTORE_EMULATOR_HOST = emulator.hostPort;
        config = loadConfig(
          {
            ...process.env,
            GOOGLE_CLOUD_PROJECT: projectIdFor(process.env),
            USE_FIRESTORE_AUTH: "1",
            USE_FIRESTORE_AUDIT: "1",
            USE_FIRESTORE_TELEMETRY: "1",
          },
          overrides,
        );
      }
      let server: Awaited<ReturnType<typeof startServer>>;
      try {
        if (emulator) {
          await bootstrapEmulator(projectIdFor(process.env), config.firestore.databaseId, emulator, logger);
        }
        server = await startServer(config, logger);
      } catch (error) {
        await emulator?.stop();
        throw error;
      }
      logger.info({ url: server.url, data_dir: config.dataDir }, "firebrick is serving");
      closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
        if (err) logger.error({ err }, "shutting down after an uncaught error");
        else logger.info({ signal }, "shutting down");
        await server.close();
        if (emulator) {
          try {
            logger.info({ snapshot: await emulator.save() }, "firestore emulator data saved");
          } finally {
            await emulator.stop();
          }
        }
      });
    });
}

function projectIdFor(env: NodeJS.ProcessEnv): string {
  return env.GOOGLE_CLOUD_PROJECT ?? env.GCP_PROJECT_ID ?? EMULATOR_PROJECT;
}

async function startEmulator(dataDir: string, projectId: string, logger: Logger): Promise<LocalEmulator> {
  let location: ReturnType<typeof locateEmulator>;
  try {
    location = locateEmulator();
  } catch (error) {
    if (error instanceof EmulatorUnavailableError) throw new CommandFailed(`--emulator: ${error.message}`);
    throw error;
  }
  const emulator = await startLocalEmulator({
    directory: join(dataDir, "firestore-emulator"),
    projectId,
    location,
  });
  logger.info(
    {
      host: emulator.hostPort,
      pid: emulator.pid,
      project_id: projectId,
      imported: emulator.importedFrom ?? null,
    },
    "firestore emulator started",
  );
  return emulator;
}

/** `firebrick bootstrap` without a control plane: the bootstrap document must be compliant before serving. */
async function bootstrapEmulator(
  projectId: string,
  databaseId: string,
  emulator: LocalEmulator,
  logger: Logger,
): Promise<void> {
  // Loaded here: the SDK and the bootstrap take most of a second to load, which serving on SQLite never needs.
  const [{ Firestore }, { BootstrapFailedError, DEFAULT_BOOTSTRAP_CONFIG, emulatorBootstrap }] =
    await Promise.all([import("@google-cloud/firestore"), import("../../bootstrap/index.js")]);
  const separator = emulator.hostPort.lastIndexOf(":");
  const firestore = new Firestore({
    projectId,
    databaseId,
    host: emulator.hostPort.slice(0, separator),
    port: Number(emulator.hostPort.slice(separator + 1)),
    ssl: false,
  });
  try {
    const report = await emulatorBootstrap(firestore, projectId, { ...DEFAULT_BOOTSTRAP_CONFIG, databaseId });
    logger.info(
      { checks: report.checks.map((check) => `${check.check}: ${check.status}`) },
      "bootstrap compliant",
    );
  } catch (error) {
    if (error instanceof BootstrapFailedError) throw new CommandFailed(error.message);
    throw error;
  } finally {
    await firestore.terminate();
  }
}
