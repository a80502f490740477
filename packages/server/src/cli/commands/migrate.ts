import { existsSync } from "node:fs";
import type { Command } from "commander";
import type { Config } from "../../config/env.js";
import { WriteBudget } from "../../migrate/budget.js";
import { compareTelemetry } from "../../migrate/compare.js";
import { generateLegacyFixture } from "../../migrate/fixture.js";
import { type JobCounts, type JobReport, type JobSteps, runJob } from "../../migrate/job.js";
import { backfillAuditJob, backfillTelemetryJob, migrateUsersJob } from "../../migrate/jobs.js";
import { JobRetrier } from "../../migrate/retry.js";
import { rebuildRollupsJob } from "../../migrate/rollups-rebuild.js";
import {
  firestoreJobRuntime,
  JobAlreadyRunningError,
  recordCompareResult,
  serviceJobRuntime,
} from "../../migrate/runtime.js";
import { LegacySourceError, openLegacySource, sourceIdentity } from "../../migrate/source.js";
import { createFirestoreClient } from "../../runtime/open-stores.js";
import { loadStartupConfig } from "../../runtime/startup-config.js";
import { openSqlite } from "../../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../../storage/sqlite-migrations.js";
import { createFirestoreStores, createSqliteStores } from "../../stores/index.js";
import { CommandFailed, UsageError } from "../errors.js";
import { formatCount, jobProgress } from "../progress.js";
import { requireTenant, tenantArgument, withStores } from "./stores.js";

interface JobFlags {
  from: string;
  lockTtl: number;
  dryRun?: boolean;
  restart?: boolean;
  json?: boolean;
}

/** A time flag: an ISO-8601 date or date-time (UTC unless it says otherwise), or epoch milliseconds. */
const instant = (name: string) => (value: string) => {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isSafeInteger(ms) || ms < 0)
    throw new UsageError(
      `${name} must be an ISO-8601 time or epoch milliseconds (got ${JSON.stringify(value)})`,
    );
  return ms;
};

const positive = (name: string, min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max)
    throw new UsageError(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`);
  return n;
};

/** `firebrick migrate fixture|users`, `firebrick backfill audit|telemetry`, `firebrick compare telemetry`. */
export function registerMigrate(program: Command): void {
  const migrate = program.command("migrate");
  migrate
    .command("fixture")
    .description(
      "write a legacy SQLite store with mixed password formats, audit rows and telemetry (tests, demos)",
    )
    .requiredOption("--out <file>", "the SQLite file to create")
    .option("--users <n>", "number of users", positive("--users", 1, 100_000), 8)
    .option("--devices <n>", "number of devices", positive("--devices", 0, 100_000), 4)
    .option("--days <n>", "days of telemetry", positive("--days", 1, 90), 7)
    .option(
      "--points-per-day <n>",
      "telemetry points per device per day",
      positive("--points-per-day", 1, 86_400),
      96,
    )
    .option("--seed <n>", "random seed", positive("--seed", 0, 2 ** 31), 1)
    .option("--json", "print the manifest (with the users' passwords) as JSON")
    .action(
      async (flags: {
        out: string;
        users: number;
        devices: number;
        days: number;
        pointsPerDay: number;
        seed: number;
        json?: boolean;
      }) => {
        if (existsSync(flags.out))
          throw new UsageError(`${flags.out} exists; the fixture is written to a new file`);
        const db = openSqlite(flags.out, SQLITE_MIGRATIONS);
        try {
          const progress = jobProgress({
            label: "migrate-fixture",
            unit: "users and devices",
            quietWithoutTerminal: !!flags.json,
          });
          const manifest = await generateLegacyFixture(db, { ...flags, progress });
          if (flags.json) console.log(JSON.stringify(manifest, null, 2));
          else {
            console.log(
              `wrote ${flags.out}: ${manifest.tenants.length} tenants, ${manifest.users.length} users, ${manifest.devices.length} devices, ${formatCount(manifest.points)} points, ${formatCount(manifest.audit_entries)} audit entries`,
            );
          }
        } finally {
          db.close();
        }
      },
    );
  withJobFlags(migrate.command("users").description("copy tenants, users and devices to Firestore")).action(
    (flags: JobFlags) =>
      runCommandJob(flags, ({ source, target, retrier }) => migrateUsersJob(source, target, retrier)),
  );

  const backfill = program.command("backfill");
  withJobFlags(
    backfill.command("audit").description("the last N days (7–30) of the audit log, tagged sqlite_backfill"),
  )
    .requiredOption("--days <n>", "how many days back", positive("--days", 7, 30))
    .action((flags: JobFlags & { days: number }) =>
      runCommandJob(flags, ({ source, target, retrier, now }) =>
        backfillAuditJob(source, target, { days: flags.days, now, retrier }),
      ),
    );
  withJobFlags(backfill.command("telemetry").description("the last N days of telemetry, in budgeted batches"))
    .requiredOption("--days <n>", "how many days back", positive("--days", 1, 90))
    .option(
      "--writes-per-minute <n>",
      "batched writes per device per minute",
      positive("--writes-per-minute", 1, 10_000),
    )
    .action((flags: JobFlags & { days: number; writesPerMinute?: number }) =>
      runCommandJob(flags, ({ source, target, retrier, now, config }) =>
        backfillTelemetryJob(source, target, {
          days: flags.days,
          now,
          retrier,
          budget: new WriteBudget(flags.writesPerMinute ?? config.deviceWritesPerMinute),
        }),
      ),
    );

  program
    .command("rollups")
    .command("rebuild")
    .description(
      "recompute the trend rollups of a range from the raw points, on the store telemetry is routed to (resumable, locked)",
    )
    .requiredOption("--tenant <id>", "the tenant", tenantArgument)
    .option("--device <id>", "one device (default: every device of the tenant)")
    .requiredOption("--from <time>", "range start: ISO-8601 or epoch ms", instant("--from"))
    .requiredOption("--to <time>", "range end (exclusive): ISO-8601 or epoch ms", instant("--to"))
    .option("--dry-run", "count the chunks, recompute nothing")
    .option("--restart", "ignore the checkpoint and start over (safe: a recomputation replaces)")
    .option(
      "--lock-ttl <seconds>",
      "the job lock's TTL: how soon a crashed run can be resumed",
      positive("--lock-ttl", 2, 3600),
      30,
    )
    .option("--json", "print the report as JSON")
    .action(
      async (
        flags: Omit<JobFlags, "from"> & { tenant: string; device?: string; from: number; to: number },
      ) => {
        if (flags.from >= flags.to) throw new UsageError("--from must be before --to");
        await withStores(async (opened, config) => {
          await requireTenant(opened, flags.tenant);
          const stores = opened.router.stores;
          const steps = rebuildRollupsJob(stores, {
            tenant: flags.tenant,
            ...(flags.device !== undefined && { device: flags.device }),
            from: flags.from,
            to: flags.to,
            retrier: new JobRetrier(),
          });
          const runtime = serviceJobRuntime(opened, {
            lockTtlMs: flags.lockTtl * 1000,
            timeAuthority: config.locks.timeAuthority,
          });
          await runAndReport(runtime, steps, flags);
          await stores.telemetry.flush();
        });
      },
    );

  program
    .command("compare")
    .command("telemetry")
    .description("compare the newest points of N sampled device series; exit 0 only when nothing differs")
    .requiredOption("--from <file>", "the legacy SQLite file")
    .requiredOption("--sample <n>", "how many device series to compare", positive("--sample", 1, 100_000))
    .option("--json", "print the report as JSON")
    .action(async (flags: { from: string; sample: number; json?: boolean }) => {
      const { source, target, db, firestore } = await openBoth(flags.from);
      try {
        const progress = jobProgress({
          label: "compare-telemetry",
          unit: "series",
          quietWithoutTerminal: !!flags.json,
        });
        const report = await compareTelemetry(source, target, { sample: flags.sample, progress });
        await recordCompareResult(firestore, report);
        if (flags.json) console.log(JSON.stringify(report, null, 2));
        else {
          for (const note of report.notes) console.log(note);
          console.log(
            `compare-telemetry: series compared ${formatCount(report.sampled_series)}, points read ${formatCount(report.read)}, points mismatched ${formatCount(report.mismatched)}: ${report.green ? "green" : "RED"}`,
          );
        }
        if (!report.green)
          throw new CommandFailed(`${report.mismatched} points differ between SQLite and Firestore`);
      } finally {
        db.close();
        await firestore.terminate();
      }
    });
}

function withJobFlags(command: Command): Command {
  return command
    .requiredOption("--from <file>", "the legacy SQLite file")
    .option("--dry-run", "read and count, write nothing")
    .option("--restart", "ignore the checkpoint and start over (safe: writes are idempotent)")
    .option(
      "--lock-ttl <seconds>",
      "the job lock's TTL: how soon a crashed run can be resumed",
      positive("--lock-ttl", 2, 3600),
      30,
    )
    .option("--json", "print the report as JSON");
}

interface JobContext {
  source: ReturnType<typeof createSqliteStores>;
  target: ReturnType<typeof createFirestoreStores>;
  retrier: JobRetrier;
  now: number;
  config: Config;
}

async function openBoth(from: string) {
  const config = await loadStartupConfig();
  if (config.firestore.kind === "none") {
    throw new UsageError(
      "the target Firestore is not configured: set GOOGLE_CLOUD_PROJECT (and FIRESTORE_EMULATOR_HOST for the emulator)",
    );
  }
  let db: ReturnType<typeof openLegacySource>;
  try {
    db = openLegacySource(from);
  } catch (error) {
    throw error instanceof LegacySourceError ? new UsageError(`--from: ${error.message}`) : error;
  }
  const firestore = await createFirestoreClient(config.firestore);
  return {
    config,
    db,
    firestore,
    source: createSqliteStores(db, {}),
    target: createFirestoreStores(firestore, {}),
  };
}

async function runCommandJob(
  flags: JobFlags,
  makeSteps: (context: JobContext) => JobSteps<unknown>,
): Promise<void> {
  const { config, db, firestore, source, target } = await openBoth(flags.from);
  try {
    const context: JobContext = { config, source, target, retrier: new JobRetrier(), now: Date.now() };
    const steps = makeSteps(context);
    const sourceId = await sourceIdentity(context.source);
    const runtime = firestoreJobRuntime(firestore, {
      lockTtlMs: flags.lockTtl * 1000,
      timeAuthority: config.locks.timeAuthority,
    });
    await runAndReport(runtime, steps, flags, sourceId);
  } finally {
    db.close();
    // Rollup updates held back for fast-written devices go out before the client does: a timer that
    // fired after terminate() would query a closed client (the SDK then rejects a promise nobody holds,
    // which ends the process) and the rollups would wait for repair.
    await target.telemetry.flush().catch((error: unknown) => {
      console.error(
        `firebrick: flushing held-back rollups failed (they are repaired later): ${String(error)}`,
      );
    });
    await firestore.terminate();
  }
}

/** Runs a job under its lock with fenced checkpoints, and prints its report. */
async function runAndReport(
  runtime: ReturnType<typeof firestoreJobRuntime>,
  steps: JobSteps<unknown>,
  flags: Pick<JobFlags, "dryRun" | "restart" | "json">,
  source?: string,
): Promise<void> {
  const progress = jobProgress({
    label: steps.name,
    unit: steps.units.read,
    quietWithoutTerminal: !!flags.json,
  });
  const report = await runJob(steps, {
    ...runtime,
    dryRun: !!flags.dryRun,
    restart: !!flags.restart,
    progress,
    ...(source !== undefined && { source }),
  }).catch((error: unknown) => {
    throw error instanceof JobAlreadyRunningError ? new CommandFailed(error.message) : error;
  });
  printReport(report, !!flags.json);
}

function printReport(report: JobReport, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  for (const note of report.notes) console.log(note);
  const state = report.already_complete
    ? " (already complete; --restart to run again)"
    : report.resumed
      ? " (resumed)"
      : "";
  const { units } = report;
  const counts = (c: JobCounts) =>
    `${units.read} read ${formatCount(c.read)}, ${units.written} written ${formatCount(c.written)} ` +
    `(skipped ${formatCount(c.skipped)}, refused ${formatCount(c.refused)})`;
  // This run's counts; a resumed or finished job's total across its runs too.
  const total = report.resumed || report.already_complete ? ` (job total: ${counts(report.total)})` : "";
  console.log(`${report.job}${report.dry_run ? " [dry run]" : ""}${state}: ${counts(report)}${total}`);
}
