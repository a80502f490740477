import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../config/env.js";
import { createLogger } from "../observability/logger.js";
import { type RunningServer, type ServerOptions, startServer } from "../server.js";
import { testPasswords } from "./service.js";

export interface TestServer {
  server: RunningServer;
  url: string;
  /** The first run's admin (tenant `demo`). */
  adminPassword: string;
  close(): Promise<void>;
}

/**
 * `startServer` as `firebrick serve` runs it, on a real port (0) with a fresh SQLite directory, the given
 * environment (Firestore address, flags…), a silent logger and cheap Argon2id so that tests stay fast
 * on two cores.
 */
export async function startTestServer(
  env: Record<string, string> = {},
  options: ServerOptions = {},
): Promise<TestServer> {
  let printed = "";
  const config = loadConfig({
    FIREBRICK_DATA_DIR: mkdtempSync(join(tmpdir(), "firebrick-test-server-")),
    PORT: "0",
    ...env,
  });
  const server = await startServer(config, createLogger("silent"), {
    passwords: testPasswords(),
    print: (text) => {
      printed += text;
    },
    ...options,
  });
  const adminPassword = /Password \(shown once[^)]*\): (\S+)/.exec(printed)?.[1];
  if (!adminPassword) throw new Error("the first run did not print the admin password");
  return { server, url: server.url, adminPassword, close: () => server.close() };
}
