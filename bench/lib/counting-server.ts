import { Writable } from "node:stream";
import { type Config, loadConfig } from "../../packages/server/src/config/env.js";
import { createLogger } from "../../packages/server/src/observability/logger.js";
import { type RunningServer, startServer } from "../../packages/server/src/server.js";
import type { Clock } from "../../packages/server/src/stores/types.js";
import { UsageTally } from "../../packages/server/src/stores/usage.js";
import type { BenchContext } from "./context.js";

export interface CountingServer {
  server: RunningServer;
  config: Config;
  /** Every billed read and write of the server's stores. */
  usage: UsageTally;
  /** The first run's generated admin password (tenant `demo`). */
  adminPassword: string;
}

/**
 * `startServer` in this process on a real port, every area on Firestore (a fresh project on the run's
 * emulator), its stores' billed reads and writes counted in `usage`, on the phase's `clock`: for phases
 * that count what requests bill rather than time them. Closed by the caller (`server.close()`).
 *
 * @example
 * const { server, usage, adminPassword } = await startCountingServer(bench, "count", () => Date.now() + offsetMs);
 */
export async function startCountingServer(
  bench: BenchContext,
  label: string,
  clock: Clock,
): Promise<CountingServer> {
  const usage = new UsageTally();
  let printed = "";
  const config = loadConfig({
    FIREBRICK_DATA_DIR: bench.tempDir(label),
    FIRESTORE_EMULATOR_HOST: (await bench.emulator()).hostPort,
    GOOGLE_CLOUD_PROJECT: bench.projectId(label),
    USE_FIRESTORE_TELEMETRY: "1",
    USE_FIRESTORE_AUDIT: "1",
    USE_FIRESTORE_AUTH: "1",
    DEVICE_WRITES_PER_MINUTE: "100000",
    PORT: "0",
  });
  const silent = createLogger(
    "silent",
    new Writable({
      write(_chunk, _encoding, done) {
        done();
      },
    }),
  );
  const server = await startServer(config, silent, {
    usage,
    clock,
    print: (text) => {
      printed += text;
    },
  });
  const adminPassword = /Password \(shown once[^)]*\): (\S+)/.exec(printed)?.[1];
  if (!adminPassword) {
    await server.close();
    throw new Error("the first run did not print the admin password");
  }
  return { server, config, usage, adminPassword };
}
