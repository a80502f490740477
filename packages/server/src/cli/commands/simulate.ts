import { join } from "node:path";
import { text } from "node:stream/consumers";
import type { Command } from "commander";
import { createPasswordHasher } from "../../auth/passwords.js";
import { type Config, loadConfig } from "../../config/env.js";
import { logDestination } from "../../observability/log-output.js";
import { createLogger } from "../../observability/logger.js";
import { type RunningServer, startServer } from "../../server.js";
import { ApiRequestError, FirebrickApiClient } from "../../simulator/api-client.js";
import { DEMO_LOGIN, ensureDemoAdmin } from "../../simulator/demo-admin.js";
import { DeviceTokenFile } from "../../simulator/device-tokens.js";
import { type Credentials, ensureDevices, simulate } from "../../simulator/simulator.js";
import { CommandFailed, UsageError } from "../errors.js";

interface SimulateOptions {
  devices: string;
  tenant: string;
  url?: string;
  username?: string;
  passwordStdin?: boolean;
  interval?: string;
  writesPerMinute?: string;
  backfill?: string;
  serve?: boolean;
  duration?: string;
  seed: string;
  tokensFile?: string;
  dataDir?: string;
}

/** Password from stdin (first line) or SIMULATE_PASSWORD; never from an argument, which `ps` would show. */
async function readCredentials(
  options: SimulateOptions,
  configured: Config["simulator"],
): Promise<Credentials | null> {
  const username = options.username ?? configured.username;
  let password: string | undefined;
  if (options.passwordStdin) password = (await text(process.stdin)).split(/\r?\n/)[0];
  else password = configured.password;
  if (!username && !password) return null;
  if (!username) throw new UsageError("a password was given without --username (or SIMULATE_USERNAME)");
  if (!password) throw new UsageError("--username needs --password-stdin or SIMULATE_PASSWORD");
  return { username, password };
}

function integerOption(name: string, value: string, min: number, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`);
  }
  return Number(value);
}

function secondsOption(name: string, value: string, min: number): number {
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || seconds < min) {
    throw new UsageError(`${name} must be a number of seconds ≥ ${min} (got ${JSON.stringify(value)})`);
  }
  return seconds * 1000;
}

export function registerSimulate(program: Command): void {
  program
    .command("simulate")
    .requiredOption("--devices <n>", "number of simulated devices (zones) to create or reuse")
    .option("--tenant <tenant>", "tenant of the devices", "demo")
    .option("--url <url>", "the server's address (default http://127.0.0.1:$PORT, or :8080)")
    .option("--username <username>", "an admin, to list and create devices (env SIMULATE_USERNAME)")
    .option(
      "--password-stdin",
      "read the admin's password from the first line of stdin (else SIMULATE_PASSWORD)",
    )
    .option(
      "--interval <seconds>",
      "seconds between a device's readings, stretched to fit the write limit (default 5; 2 with --serve)",
    )
    .option(
      "--writes-per-minute <n>",
      "the server's DEVICE_WRITES_PER_MINUTE (default: the same env variable, or 5)",
    )
    .option(
      "--backfill <n>",
      "past readings per device posted at start, at most half the minute's budget (default 0; 100 with --serve)",
    )
    .option("--duration <seconds>", "stop after this long (default: run until Ctrl-C)")
    .option("--seed <n>", "seed of the simulated physics", "1")
    .option(
      "--serve",
      "the one-command demo: also start a server (SQLite in its own data dir, DEVICE_WRITES_PER_MINUTE 600 " +
        "unless set) with tenant demo and an admin demo / firebrick-demo",
    )
    .option(
      "--data-dir <dir>",
      "with --serve: the demo's own data dir, apart from the real server's (default $FIREBRICK_DATA_DIR/demo, i.e. ./data/demo)",
    )
    .option(
      "--tokens-file <path>",
      "where device tokens are kept (default $FIREBRICK_DATA_DIR/simulator-devices.json)",
    )
    .action(async (options: SimulateOptions) => {
      const serve = options.serve === true;
      // The demo's server is ours, so it can have a budget that makes the chart move and a quieter log;
      // a real server's budget is whatever its operator set, which --writes-per-minute must then repeat.
      const loaded = loadConfig(undefined, {}, serve ? { deviceWritesPerMinute: 600, logLevel: "warn" } : {});
      if (options.dataDir !== undefined && !serve) throw new UsageError("--data-dir goes with --serve");
      // The demo's admin has a public password: it must never land in the data of a real server.
      const config = serve ? { ...loaded, dataDir: options.dataDir ?? join(loaded.dataDir, "demo") } : loaded;
      const count = integerOption("--devices", options.devices, 1, 1000);
      const intervalMs = secondsOption("--interval", options.interval ?? (serve ? "2" : "5"), 0.1);
      const writesPerMinute = integerOption(
        "--writes-per-minute",
        options.writesPerMinute ?? String(config.deviceWritesPerMinute),
        1,
        100_000,
      );
      const backfill = integerOption("--backfill", options.backfill ?? (serve ? "100" : "0"), 0, 10_000);
      const seed = integerOption("--seed", options.seed, 0, 2 ** 31);
      const durationMs =
        options.duration === undefined ? null : secondsOption("--duration", options.duration, 0.1);
      if (serve && options.url !== undefined)
        throw new UsageError("--serve starts its own server: drop --url");
      let baseUrl = options.url ?? `http://127.0.0.1:${config.port}`;
      try {
        new URL(baseUrl);
      } catch {
        throw new UsageError(`--url must be an http(s) URL (got ${JSON.stringify(baseUrl)})`);
      }
      if (!/^[A-Za-z0-9_-]{1,128}$/.test(options.tenant)) {
        throw new UsageError(`--tenant must be a tenant id (got ${JSON.stringify(options.tenant)})`);
      }
      let credentials = serve ? null : await readCredentials(options, config.simulator);
      let tenant = options.tenant;

      let server: RunningServer | null = null;
      if (serve) {
        server = await startServer(
          { ...config, deviceWritesPerMinute: writesPerMinute },
          createLogger(config.logLevel, await logDestination()),
        );
        await ensureDemoAdmin(server.stores.router.stores, createPasswordHasher());
        baseUrl = server.url;
        tenant = DEMO_LOGIN.tenant;
        credentials = { username: DEMO_LOGIN.username, password: DEMO_LOGIN.password };
        console.log(
          `\nFirebrick demo: open ${server.url}/ and sign in with tenant "${DEMO_LOGIN.tenant}", ` +
            `username "${DEMO_LOGIN.username}", password "${DEMO_LOGIN.password}".\n` +
            `SQLite data in ${config.dataDir}; telemetry limit ${writesPerMinute} points per device per minute.\n`,
        );
      }

      const api = new FirebrickApiClient({
        baseUrl,
        tenant: options.tenant,
        tenantHeader: config.tenantHeader,
      });
      const tokens = new DeviceTokenFile(
        options.tokensFile ?? join(config.dataDir, "simulator-devices.json"),
      );
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      const timer = durationMs === null ? null : setTimeout(stop, durationMs);
      try {
        const devices = await ensureDevices({
          api,
          tokens,
          count,
          credentials,
          log: (line) => console.log(line),
        });
        const effectiveMs = Math.max(intervalMs, Math.ceil(60_000 / writesPerMinute));
        console.log(
          `simulating ${devices.length} device(s) in tenant ${tenant} on ${baseUrl}: a reading every ` +
            `${effectiveMs / 1000} s per device (limit ${writesPerMinute}/min); Ctrl-C to stop`,
        );
        let sinceReport = 0;
        const report = setInterval(() => {
          if (sinceReport > 0) console.log(`${new Date().toISOString()} posted ${sinceReport} reading(s)`);
          sinceReport = 0;
        }, 10_000);
        try {
          const totals = await simulate({
            api,
            devices,
            writesPerMinute,
            intervalMs,
            backfill,
            seed,
            signal: controller.signal,
            onPoint: ({ points }) => {
              sinceReport += points;
            },
            onRetry: ({ device, error, waitMs }) =>
              console.error(`${device.name}: ${error.message}; retrying in ${Math.ceil(waitMs / 1000)} s`),
          });
          console.log(
            `stopped: ${totals.points} reading(s) posted, ${totals.rateLimited} rate-limited, ${totals.failures} failed`,
          );
        } finally {
          clearInterval(report);
        }
      } catch (error) {
        if (error instanceof ApiRequestError && error.code === "CREDENTIALS_REQUIRED") {
          throw new UsageError(
            `${error.message}: pass --username <admin> --password-stdin (or set SIMULATE_USERNAME and SIMULATE_PASSWORD)`,
          );
        }
        if (error instanceof ApiRequestError) throw new CommandFailed(error.message);
        throw error;
      } finally {
        if (timer) clearTimeout(timer);
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
        await server?.close();
      }
    });
}
