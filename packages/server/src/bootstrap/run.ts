import type { Firestore } from "@google-cloud/firestore";
import {
  type ControlPlane,
  ControlPlaneError,
  type Database,
  FIRESTORE_SERVICE,
  type Operation,
} from "../gcp/control-plane.js";
import {
  type RetryPolicy,
  realSleep,
  retryControlPlaneCall,
  retryDelayMs,
  type Sleep,
  waitForOperation,
} from "../gcp/control-plane-retry.js";
import { grantCommand, verifyRoles } from "../gcp/iam-roles.js";
import { readOnlyControlPlane } from "../gcp/read-only.js";
import type { BootstrapConfig } from "./config.js";
import { reconcileBootstrapDocument } from "./document.js";
import { type ProtectionContext, reconcileBackupSchedules, reconcileSwitch } from "./protection.js";

export type CheckName =
  | "role"
  | "api"
  | "database"
  | "native_mode"
  | "active"
  | "point_in_time_recovery"
  | "delete_protection"
  | "backup_schedule"
  | "document";
export type CheckStatus = "ok" | "changed" | "skipped" | "failed";

/** One line of the report: what was checked, and what came of it. */
export interface CheckResult {
  check: CheckName;
  status: CheckStatus;
  detail: string;
  /** What a repeated check is about: the role of a `role` line, the recurrence of a `backup_schedule` one. */
  subject?: string;
}

export interface BootstrapReport {
  /** True only when every check is ok, changed (and now ok) or skipped by design. */
  compliant: boolean;
  preflight: boolean;
  projectId: string;
  databaseId: string;
  controlPlane: "gcloud" | "rest" | "none";
  checks: CheckResult[];
  /** Control-plane mutations (enable, create, update) plus document writes this run made. */
  changes: number;
}

export interface RunBootstrapOptions {
  config: BootstrapConfig;
  projectId: string;
  /** `null`: no control plane (the emulator); only the bootstrap document is reconciled. */
  controlPlane: ControlPlane | null;
  /** The Firestore client for the document, or a factory called once the database is known ready. */
  firestore: Firestore | (() => Firestore | Promise<Firestore>);
  /** `--preflight`; `config.preflightOnly` turns it on too. */
  preflight?: boolean;
  /** The extension's `required_roles`: each verified for the caller before anything else. */
  requiredRoles?: string[];
  /** `--allow-weaker-protection`: lets the run turn protection off or shorten a backup retention. */
  allowWeakerProtection?: boolean;
  /** Waits between retries; injectable so that tests record the delays instead of sleeping. */
  sleep?: Sleep;
}

/** Every check but `role`, in report order: a run that stops early reports the rest as skipped. */
const CHECK_ORDER = [
  "api",
  "database",
  "native_mode",
  "active",
  "point_in_time_recovery",
  "delete_protection",
  "backup_schedule",
  "document",
] as const;
const PROTECTION_CHECKS = ["point_in_time_recovery", "delete_protection", "backup_schedule"] as const;

class StepFailed extends Error {}

type Record = (check: CheckName, status: CheckStatus, detail: string, subject?: string) => void;

/**
 * The seed's fail-closed, idempotent flow, in its order, with production provisioning around it: verify
 * the caller's `required_roles`, enable the API (optional), make sure the database exists (creating it
 * when allowed, with its protection), is in Native mode and is ACTIVE, reconcile point-in-time recovery,
 * delete protection and backup schedules, then create-first the bootstrap document. Outside preflight it
 * stops at the first failure; preflight mutates nothing and goes on, so that it names every missing piece.
 *
 * @example
 * const report = await runBootstrap({ config: DEFAULT_BOOTSTRAP_CONFIG, projectId, controlPlane: null, firestore });
 * if (!report.compliant) process.exitCode = 1;
 */
export async function runBootstrap(options: RunBootstrapOptions): Promise<BootstrapReport> {
  const { config } = options;
  const preflight = Boolean(options.preflight || config.preflightOnly);
  // Preflight mutates nothing, by construction: the control plane it gets cannot.
  const controlPlane =
    options.controlPlane && preflight ? readOnlyControlPlane(options.controlPlane) : options.controlPlane;
  const sleep = options.sleep ?? realSleep;
  const policy: RetryPolicy = {
    attempts: config.retryAttempts,
    initialDelaySeconds: config.retryInitialDelaySeconds,
    backoffMultiplier: config.retryBackoffMultiplier,
  };
  const checks: CheckResult[] = [];
  let changes = 0;
  const record: Record = (check, status, detail, subject) => {
    checks.push({ check, status, detail, ...(subject !== undefined && { subject }) });
    if (status === "failed" && !preflight) throw new StepFailed(detail);
  };
  const report = (): BootstrapReport => {
    const ran = new Set(checks.map((result) => result.check));
    for (const check of CHECK_ORDER) {
      if (!ran.has(check))
        checks.push({ check, status: "skipped", detail: "not run: an earlier check failed" });
    }
    return {
      compliant: checks.every((result) => result.status !== "failed"),
      preflight,
      projectId: options.projectId,
      databaseId: config.databaseId,
      controlPlane: controlPlane?.kind ?? "none",
      checks,
      changes,
    };
  };

  try {
    let databaseReady = true;
    if (!controlPlane) {
      const skipped = "no control plane (the emulator always has a Native, ACTIVE database)";
      for (const check of CHECK_ORDER.slice(0, -1))
        checks.push({ check, status: "skipped", detail: skipped });
    } else {
      const call = <T>(operation: () => Promise<T>) => retryControlPlaneCall(operation, policy, sleep);
      const wait = (operation: Operation) =>
        waitForOperation((name) => controlPlane.getOperation(name), operation, policy, sleep);
      const database = `database ${config.databaseId}`;

      // 0. The caller's roles, all reported before the run stops on a missing one.
      const roles = options.requiredRoles ?? [];
      if (roles.length > 0) {
        const verdicts = await guarded(
          () => call(() => verifyRoles(roles, (permissions) => controlPlane.testIamPermissions(permissions))),
          "role",
          record,
        );
        const member = verdicts.some((verdict) => verdict.missing.length > 0)
          ? await call(() => controlPlane.callerMember()).catch(() => undefined)
          : undefined;
        for (const { role, missing, tested } of verdicts) {
          checks.push(
            missing.length === 0
              ? {
                  check: "role",
                  subject: role,
                  status: "ok",
                  detail: `${role}: held (${tested} permissions checked)`,
                }
              : {
                  check: "role",
                  subject: role,
                  status: "failed",
                  detail: `${role}: missing ${missing.join(", ")} (grant it: ${grantCommand(options.projectId, role, member)})`,
                },
          );
        }
        if (!preflight && checks.some((check) => check.status === "failed")) {
          throw new StepFailed("a required role is missing");
        }
      }

      // 1. The API.
      let apiEnabled =
        (await guarded(() => call(() => controlPlane.getService(FIRESTORE_SERVICE)), "api", record)).state ===
        "ENABLED";
      if (apiEnabled) {
        record("api", "ok", `${FIRESTORE_SERVICE} is enabled`);
      } else if (!config.enableApi) {
        record("api", "failed", `${FIRESTORE_SERVICE} is not enabled and enable_api is false`);
      } else if (preflight) {
        record("api", "failed", `${FIRESTORE_SERVICE} is not enabled (preflight: would enable it)`);
      } else {
        const operation = await guarded(
          () => call(() => controlPlane.enableServices([FIRESTORE_SERVICE])),
          "api",
          record,
        );
        changes++;
        const done = await guarded(() => wait(operation), "api", record);
        if (done.error)
          record("api", "failed", `enabling ${FIRESTORE_SERVICE} failed: ${done.error.message}`);
        else record("api", "changed", `enabled ${FIRESTORE_SERVICE}`);
        apiEnabled = true;
      }

      // 2. The database exists, or is created (with its protection, when configured).
      let found: Database | null = null;
      let creation: Operation | undefined;
      const protection = {
        ...(config.pointInTimeRecovery !== undefined && { pointInTimeRecovery: config.pointInTimeRecovery }),
        ...(config.deleteProtection !== undefined && { deleteProtection: config.deleteProtection }),
      };
      if (!apiEnabled) {
        databaseReady = false;
        record(
          "database",
          "failed",
          `${database} cannot be checked while ${FIRESTORE_SERVICE} is disabled (${missingDatabaseAction(config, preflight)})`,
        );
      } else {
        found = await guarded(() => call(() => controlPlane.getDatabase()), "database", record);
        if (found) {
          record("database", "ok", `${database} exists in ${found.locationId ?? "an unknown location"}`);
        } else if (!config.createDatabaseIfMissing || preflight) {
          databaseReady = false;
          record(
            "database",
            "failed",
            `${database} does not exist (${missingDatabaseAction(config, preflight)})`,
          );
        } else {
          const location =
            config.databaseLocation ??
            (await guarded(() => controlPlane.defaultRegion(), "database", record));
          if (!location) {
            record(
              "database",
              "failed",
              `${database} does not exist and database_location is unset with no project default region`,
            );
          }
          creation = await guarded(
            () => call(() => controlPlane.createDatabase(location!, protection)),
            "database",
            record,
          );
          changes++;
          record(
            "database",
            "changed",
            `created ${database} in ${location} (Native mode${describeProtection(protection)})`,
          );
        }
      }

      let resource: Database | null = null;
      if (!databaseReady) {
        for (const check of ["native_mode", "active", ...PROTECTION_CHECKS] as const)
          checks.push({ check, status: "skipped", detail: `${database} is not available` });
      } else {
        // 3 and 4. Native mode, and ACTIVE: a created database is checked once its creation is done.
        let waited: Awaited<ReturnType<typeof waitForDatabase>> | undefined;
        if (creation) {
          waited = await waitForDatabase(controlPlane, creation, policy, sleep);
          if (!waited.database) {
            checks.push({ check: "native_mode", status: "skipped", detail: `${database} is not ACTIVE` });
          }
        }
        resource = waited?.database ?? found;
        if (resource) {
          if (resource.type === "FIRESTORE_NATIVE") {
            record("native_mode", "ok", `${database} is in Native mode`);
          } else {
            databaseReady = false;
            record(
              "native_mode",
              "failed",
              `${database} is not in Native mode (type ${resource.type ?? "unknown"})`,
            );
          }
        }
        if (waited && !waited.database) {
          databaseReady = false;
          record(
            "active",
            "failed",
            waited.error
              ? `creating ${database} failed: ${waited.error}`
              : waitedFailure(database, policy, waited.attempts),
          );
        } else if (databaseReady) {
          record("active", "ok", `${database} is ACTIVE (create done, readable)`);
        } else {
          checks.push({ check: "active", status: "skipped", detail: `${database} is not in Native mode` });
        }
        if (!databaseReady || !resource) {
          for (const check of PROTECTION_CHECKS)
            checks.push({ check, status: "skipped", detail: `${database} is not available` });
        }
      }

      // 5–7. Point-in-time recovery, delete protection, backup schedules.
      if (databaseReady && resource) {
        const context: ProtectionContext = {
          controlPlane,
          call,
          wait,
          preflight,
          allowWeakening: options.allowWeakerProtection ?? false,
        };
        for (const check of ["point_in_time_recovery", "delete_protection"] as const) {
          const wanted =
            check === "point_in_time_recovery" ? config.pointInTimeRecovery : config.deleteProtection;
          const step = await guarded(() => reconcileSwitch(check, wanted, resource!, context), check, record);
          changes += step.changes;
          record(check, step.status, step.detail);
        }
        const steps = await guarded(
          () => reconcileBackupSchedules(config.backupSchedules, context),
          "backup_schedule",
          record,
        );
        for (const step of steps) changes += step.changes;
        // Every schedule's line first, then the verdict: a failed one must not hide the others.
        for (const step of steps)
          checks.push({
            check: "backup_schedule",
            status: step.status,
            detail: step.detail,
            ...(step.subject && { subject: step.subject }),
          });
        if (!preflight && steps.some((step) => step.status === "failed"))
          throw new StepFailed("backup schedule");
      }
    }

    // 8. The document.
    if (!databaseReady) {
      const path = `${config.collectionName}/${config.docId}`;
      record(
        "document",
        "failed",
        `bootstrap document ${path} cannot exist without the database (${preflight ? "preflight: would create it" : "not created"})`,
      );
    } else {
      let outcome: Awaited<ReturnType<typeof reconcileBootstrapDocument>>;
      try {
        const db = typeof options.firestore === "function" ? await options.firestore() : options.firestore;
        outcome = await reconcileBootstrapDocument(db, config, { preflight });
      } catch (error) {
        const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
        outcome = {
          status: "failed",
          detail: `bootstrap document could not be read or written: ${reason}`,
          writes: 0,
        };
      }
      changes += outcome.writes;
      record("document", outcome.status, outcome.detail);
    }
  } catch (error) {
    if (!(error instanceof StepFailed)) throw error;
  }
  return report();
}

/**
 * Runs a control-plane call; a failure becomes the check's failed line and ends the run, preflight or
 * not: past an API error nothing further can be known.
 */
async function guarded<T>(operation: () => Promise<T>, check: CheckName, record: Record): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (!(error instanceof ControlPlaneError)) throw error;
    const detail = error.transient ? `${error.message} (still failing after retries)` : error.message;
    try {
      record(check, "failed", detail);
    } catch {
      // Outside preflight, record has already thrown StepFailed; the same follows below.
    }
    throw new StepFailed(detail);
  }
}

function describeProtection(protection: {
  pointInTimeRecovery?: boolean;
  deleteProtection?: boolean;
}): string {
  const parts = [
    ...(protection.pointInTimeRecovery ? ["point-in-time recovery"] : []),
    ...(protection.deleteProtection ? ["delete protection"] : []),
  ];
  return parts.length > 0 ? `, with ${parts.join(" and ")}` : "";
}

function missingDatabaseAction(config: BootstrapConfig, preflight: boolean): string {
  if (!config.createDatabaseIfMissing) return "create_database_if_missing is false";
  const where = config.databaseLocation ?? "the project's default region";
  return preflight ? `preflight: would create it in ${where}` : `would create it in ${where}`;
}

function waitedFailure(database: string, policy: RetryPolicy, attempts: number): string {
  const delays = Array.from({ length: attempts - 1 }, (_, i) => retryDelayMs(policy, i + 1) / 1000);
  return `${database} did not become ACTIVE after ${attempts} attempts (waited ${delays.join("s, ") || 0}s)`;
}

/**
 * The seed's "wait for ACTIVE": a database is ACTIVE once its creation operation is done and it can be
 * read (the resource has no state field). `policy.attempts` tries, with the policy's delays between.
 */
async function waitForDatabase(
  controlPlane: ControlPlane,
  creation: Operation,
  policy: RetryPolicy,
  sleep: Sleep,
): Promise<{ database: Database | null; attempts: number; error?: string }> {
  let operation = creation;
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    if (attempt > 1) await sleep(retryDelayMs(policy, attempt - 1));
    try {
      if (!operation.done)
        operation = await retryControlPlaneCall(
          () => controlPlane.getOperation(operation.name),
          policy,
          sleep,
        );
      if (operation.error) return { database: null, attempts: attempt, error: operation.error.message };
      if (operation.done) {
        const database = await retryControlPlaneCall(() => controlPlane.getDatabase(), policy, sleep);
        if (database) return { database, attempts: attempt };
      }
    } catch (error) {
      if (!(error instanceof ControlPlaneError)) throw error;
      return { database: null, attempts: attempt, error: error.message };
    }
  }
  return { database: null, attempts: policy.attempts };
}
