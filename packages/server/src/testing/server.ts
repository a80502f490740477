import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { emulatorHost, uniqueProjectId } from "../../../../test/firestore.js";
import type { Argon2Params } from "../auth/passwords.js";
import { loadConfig } from "../config/env.js";
import { createLogger } from "../observability/logger.js";
import { type RunningServer, type ServerOptions, startServer } from "../server.js";
import { type Backend, testPasswords } from "./service.js";

export interface TestServer {
  server: RunningServer;
  url: string;
  /** The first run's admin (tenant `demo`). */
  adminPassword: string;
  close(): Promise<void>;
}

/**
 * `startServer` as `firebrick serve` runs it, on a real port (0) with a fresh SQLite directory, the given
 * environment (Firestore address, flags…), a silent logger and cheap Argon2id (`argon2` to choose
 * another cost) so that tests stay fast on two cores.
 */
export async function startTestServer(
  env: Record<string, string> = {},
  { argon2, ...options }: ServerOptions & { argon2?: Argon2Params } = {},
): Promise<TestServer> {
  let printed = "";
  const config = loadConfig({
    FIREBRICK_DATA_DIR: mkdtempSync(join(tmpdir(), "firebrick-test-server-")),
    PORT: "0",
    ...env,
  });
  const server = await startServer(config, createLogger("silent"), {
    // The hashing queue as configured (FIREBRICK_PASSWORD_QUEUE), at a test's cost.
    passwords: testPasswords({ maxQueue: config.passwordQueue, ...(argon2 && { params: argon2 }) }),
    print: (text) => {
      printed += text;
    },
    ...options,
  });
  const adminPassword = /Password \(shown once[^)]*\): (\S+)/.exec(printed)?.[1];
  if (!adminPassword) throw new Error("the first run did not print the admin password");
  return { server, url: server.url, adminPassword, close: () => server.close() };
}

/**
 * The environment of a test server on `backend`: nothing more for SQLite; for Firestore, the test run's
 * emulator, a project of its own and every area routed to it.
 */
export function backendEnv(backend: Backend, label = "server"): Record<string, string> {
  if (backend === "sqlite") return {};
  return {
    FIRESTORE_EMULATOR_HOST: emulatorHost(),
    GOOGLE_CLOUD_PROJECT: uniqueProjectId(label),
    USE_FIRESTORE_AUTH: "1",
    USE_FIRESTORE_AUDIT: "1",
    USE_FIRESTORE_TELEMETRY: "1",
  };
}
