import { CLOCK_DRIFT_THRESHOLDS, measureClockDrift } from "@firebrick/lock/firestore";
import type { Command } from "commander";
import { CommandFailed, UsageError } from "../errors.js";
import { withStores } from "./stores.js";

/**
 * `firebrick locks drift [--json] [--samples n]`: the pre-deployment clock check (ADR-020,
 * docs/adr/ADR-020-clock-drift-checks.md). Measures this host's clock against Firestore's commit time; exit
 * 1 at ±500 ms or more (block the deployment), 0 otherwise (a warning on stderr from ±200 ms).
 */
export function registerLocksDrift(program: Command): void {
  const locks = program.commands.find((command) => command.name() === "locks") ?? program.command("locks");
  locks
    .command("drift")
    .description(
      `this host's clock against Firestore's; exit 1 at ±${CLOCK_DRIFT_THRESHOLDS.BLOCK_MS} ms or more (run before deploying)`,
    )
    .option("--samples <n>", "probe writes to time (1–20); the shortest round trip wins", "3")
    .option("--json", "print the result as JSON")
    .action((options: { samples: string; json?: boolean }) => {
      const samples = Number(options.samples);
      if (!Number.isInteger(samples) || samples < 1 || samples > 20) {
        throw new UsageError(
          `--samples must be an integer from 1 to 20 (got ${JSON.stringify(options.samples)})`,
        );
      }
      return withStores(async (opened, config) => {
        if (!opened.firestore) {
          throw new UsageError(
            "no Firestore configured: the drift is measured against Firestore (set GOOGLE_CLOUD_PROJECT or FIRESTORE_EMULATOR_HOST)",
          );
        }
        const drift = await measureClockDrift(opened.firestore, { samples });
        const { timeAuthority } = config.locks;
        if (options.json) {
          process.stdout.write(
            `${JSON.stringify({
              drift_ms: drift.driftMs,
              uncertainty_ms: drift.uncertaintyMs,
              round_trip_ms: drift.roundTripMs,
              samples: drift.samples,
              level: drift.level,
              warn_ms: CLOCK_DRIFT_THRESHOLDS.WARN_MS,
              block_ms: CLOCK_DRIFT_THRESHOLDS.BLOCK_MS,
              lock_time_authority: timeAuthority,
            })}\n`,
          );
        } else {
          const signed = `${drift.driftMs > 0 ? "+" : ""}${drift.driftMs}`;
          process.stdout.write(
            `clock drift ${signed} ms (±${drift.uncertaintyMs} ms) against Firestore: ${drift.level} ` +
              `(alert at ±${CLOCK_DRIFT_THRESHOLDS.WARN_MS} ms, block at ±${CLOCK_DRIFT_THRESHOLDS.BLOCK_MS} ms; ` +
              `the service's locks run on ${timeAuthority} time)\n`,
          );
        }
        if (drift.level === "warn") {
          process.stderr.write(
            `firebrick: warning: clock drift ${drift.driftMs} ms: check time synchronisation\n`,
          );
        }
        if (drift.level === "block") {
          throw new CommandFailed(
            `clock drift ${drift.driftMs} ms is beyond ±${CLOCK_DRIFT_THRESHOLDS.BLOCK_MS} ms: do not deploy until time sync is fixed`,
          );
        }
      });
    });
}
