import { join } from "node:path";
import closeWithGrace from "close-with-grace";
import type { Command } from "commander";
import {
  type Config,
  type ConfigOverrides,
  DEFAULT_EMULATOR_PROJECT,
  type FirestoreTarget,
} from "../../config/env.js";
import { EmulatorUnavailableError, locateEmulator } from "../../firestore/emulator.js";
import { type LocalEmulator, startLocalEmulator } from "../../firestore/local-emulator.js";
import { logDestination } from "../../observability/log-output.js";
import { createLogger, type Logger } from "../../observability/logger.js";
import { createFirestoreClient } from "../../runtime/open-stores.js";
import { loadStartupConfig } from "../../runtime/startup-config.js";
import { startServer } from "../../server.js";
import { perArea } from "../../stores/routing/areas.js";
import { CommandFailed, UsageError } from "../errors.js";

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
      // FIREBRICK_SECRETS: read from Secret Manager once, here, before the configuration is final.
      let config = await loadStartupConfig(undefined, { host: options.host, port: options.port });
      const logger = createLogger(config.logLevel, await logDestination(), {
        debugSampleRate: config.debugSampleRate,
      });
      let emulator: LocalEmulator | undefined;
      if (options.emulator) {
        if (config.firestore.kind === "emulator") {
          // The SDK would send every client of this process to that one instead of ours.
          throw new UsageError("--emulator starts an emulator of its own: unset FIRESTORE_EMULATOR_HOST");
        }
        const projectId = config.firestore.projectId ?? DEFAULT_EMULATOR_PROJECT;
        emulator = await startEmulator(config, projectId, logger);
        // Every area goes to it; these are the initial values (a flag changed through the admin API and
        // persisted still wins, docs/design/store-routing.md).
        config = {
          ...config,
          firestore: { kind: "emulator", host: emulator.hostPort, projectId, databaseId: "(default)" },
          flags: perArea(() => true),
        };
      }
      let server: Awaited<ReturnType<typeof startServer>>;
      try {
        if (emulator && config.firestore.kind === "emulator")
          await bootstrapEmulator(config.firestore, logger);
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

async function startEmulator(config: Config, projectId: string, logger: Logger): Promise<LocalEmulator> {
  let location: ReturnType<typeof locateEmulator>;
  try {
    location = locateEmulator(config.localEmulator);
  } catch (error) {
    if (error instanceof EmulatorUnavailableError) throw new CommandFailed(`--emulator: ${error.message}`);
    throw error;
  }
  const emulator = await startLocalEmulator({
    directory: join(config.dataDir, "firestore-emulator"),
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
  target: Extract<FirestoreTarget, { kind: "emulator" }>,
  logger: Logger,
): Promise<void> {
  // Loaded here: the bootstrap takes most of a second to load, which serving on SQLite never needs.
  const [firestore, { BootstrapFailedError, DEFAULT_BOOTSTRAP_CONFIG, emulatorBootstrap }] =
    await Promise.all([createFirestoreClient(target), import("../../bootstrap/index.js")]);
  try {
    const report = await emulatorBootstrap(firestore, target.projectId ?? DEFAULT_EMULATOR_PROJECT, {
      ...DEFAULT_BOOTSTRAP_CONFIG,
      databaseId: target.databaseId,
    });
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
