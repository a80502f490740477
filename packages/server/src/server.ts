import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { Config } from "./config/env.js";
import { dashboardPlugin } from "./dashboard/plugin.js";
import { buildApp } from "./http/app.js";
import type { Logger } from "./observability/logger.js";
import { openSqlite, type SqliteDatabase } from "./storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "./storage/sqlite-migrations.js";

export interface RunningServer {
  app: FastifyInstance;
  sqlite: SqliteDatabase;
  /** The address the server listens on, e.g. `http://127.0.0.1:8080`. */
  url: string;
  close(): Promise<void>;
}

/** Opens storage, builds the application and listens. `close()` stops accepting, drains, closes storage. */
export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  const sqlite = openSqlite(join(config.dataDir, "firebrick.sqlite"), SQLITE_MIGRATIONS);
  const app = await buildApp({
    logger,
    readiness: [
      {
        name: "sqlite",
        check: () => {
          sqlite.prepare("SELECT 1").get();
        },
      },
    ],
  });
  try {
    await app.register(dashboardPlugin, { tenantHeader: config.tenantHeader });
    const url = await app.listen({ host: config.host, port: config.port });
    return {
      app,
      sqlite,
      url,
      async close() {
        await app.close();
        sqlite.close();
      },
    };
  } catch (error) {
    await app.close();
    sqlite.close();
    throw error;
  }
}
