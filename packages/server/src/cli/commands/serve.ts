import closeWithGrace from "close-with-grace";
import type { Command } from "commander";
import { loadConfig } from "../../config/env.js";
import { createLogger } from "../../observability/logger.js";
import { startServer } from "../../server.js";

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("serve the HTTP API and dashboard")
    .option("--host <host>", "listen address (env HOST, default 127.0.0.1)")
    .option("--port <port>", "listen port (env PORT, default 8080)")
    .action(async (options: { host?: string; port?: string }) => {
      const config = loadConfig(process.env, options);
      const logger = createLogger(config.logLevel);
      const server = await startServer(config, logger);
      logger.info({ url: server.url, data_dir: config.dataDir }, "firebrick is serving");
      closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
        if (err) logger.error({ err }, "shutting down after an uncaught error");
        else logger.info({ signal }, "shutting down");
        await server.close();
      });
    });
}
