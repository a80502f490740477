import type { Firestore } from "@google-cloud/firestore";
import {
  type ControlPlane,
  ControlPlaneError,
  type Database,
  DEFAULT_DATABASE,
  FIRESTORE_SERVICE,
  type Operation,
} from "../gcp/control-plane.js";
import { readOnlyControlPlane } from "../gcp/read-only.js";
import { type RetryPolicy, realSleep, retryDelayMs, type Sleep, withRetry } from "../gcp/retry.js";
import type { BootstrapConfig } from "./config.js";
import { reconcileBootstrapDocument } from "./document.js";

export type CheckName = "api" | "database" | "native_mode" | "active" | "document";
export type CheckStatus = "ok" | "changed" | "skipped" | "failed";

/** One line of the report: what was checked, and what came of it. */
export interface CheckResult {
  check: CheckName;
  status: CheckStatus;
  detail: string;
}

export interface BootstrapReport {
  /** True only when every check is ok, changed (and now ok) or skipped by design. */
  compliant: boolean;
  preflight: boolean;
  projectId: string;
  controlPlane: "gcloud" | "rest" | "none";
  checks: CheckResult[];
  /** Control-plane mutations (enable, create) plus document writes this run made. */
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
  /** Waits between retries; injectable so that tests record the delays instead of sleeping. */
  sleep?: Sleep;
}

class StepFailed extends Error {}

/**
 * The seed's fail-closed, idempotent flow, in its order: enable the API (optional), make sure the
 * default database exists (creating it when allowed), is in Native mode and is ACTIVE, then
 * create-first the bootstrap document. Outside preflight it stops at the first failure; preflight
 * mutates nothing and goes on, so that it names every missing piece.
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
  const record = (check: CheckName, status: CheckStatus, detail: string) => {
    checks.push({ check, status, detail });
    if (status === "failed" && !preflight) throw new StepFailed(detail);
  };
  const report = (): BootstrapReport => {
    const ran = new Set(checks.map((result) => result.check));
    for (const check of ["api", "database", "native_mode", "active", "document"] as const) {
      if (!ran.has(check))
        checks.push({ check, status: "skipped", detail: "not run: an earlier check failed" });
    }
    return {
      compliant: checks.every((result) => result.status !== "failed"),
      preflight,
      projectId: options.projectId,
      controlPlane: controlPlane?.kind ?? "none",
      checks,
      changes,
    };
  };

  try {
    let databaseReady = true;
    if (!controlPlane) {
      const skipped = "no control plane (the emulator always has a Native, ACTIVE default database)";
      for (const check of ["api", "database", "native_mode", "active"] as const)
        checks.push({ check, status: "skipped", detail: skipped });
    } else {
      const call = <T>(operation: () => Promise<T>) => withRetry(operation, policy, sleep);
      const database = `database ${DEFAULT_DATABASE}`;

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
          () => call(() => controlPlane.enableService(FIRESTORE_SERVICE)),
          "api",
          record,
        );
        changes++;
        const done = await guarded(
          () => waitForOperation(controlPlane, operation, policy, sleep),
          "api",
          record,
        );
        if (done.error)
          record("api", "failed", `enabling ${FIRESTORE_SERVICE} failed: ${done.error.message}`);
        else record("api", "changed", `enabled ${FIRESTORE_SERVICE}`);
        apiEnabled = true;
      }

      // 2. The database exists, or is created.
      let found: Database | null = null;
      let creation: Operation | undefined;
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
            () => call(() => controlPlane.createDatabase(location!)),
            "database",
            record,
          );
          changes++;
          record("database", "changed", `created ${database} in ${location} (Native mode)`);
        }
      }

      if (!databaseReady) {
        checks.push({
          check: "native_mode",
          status: "skipped",
          detail: `${database} is not available`,
        });
        checks.push({ check: "active", status: "skipped", detail: `${database} is not available` });
      } else {
        // 3 and 4. Native mode, and ACTIVE: a created database is checked once its creation is done.
        let waited: Awaited<ReturnType<typeof waitForDatabase>> | undefined;
        if (creation) {
          waited = await waitForDatabase(controlPlane, creation, policy, sleep);
          if (!waited.database) {
            checks.push({
              check: "native_mode",
              status: "skipped",
              detail: `${database} is not ACTIVE`,
            });
          }
        }
        const resource = waited?.database ?? found;
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
          checks.push({
            check: "active",
            status: "skipped",
            detail: `${database} is not in Native mode`,
          });
        }
      }
    }

    // 5. The document.
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
async function guarded<T>(
  operation: () => Promise<T>,
  check: CheckName,
  record: (check: CheckName, status: CheckStatus, detail: string) => void,
): Promise<T> {
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

function missingDatabaseAction(config: BootstrapConfig, preflight: boolean): string {
  if (!config.createDatabaseIfMissing) return "create_database_if_missing is false";
  const where = config.databaseLocation ?? "the project's default region";
  return preflight ? `preflight: would create it in ${where}` : `would create it in ${where}`;
}

function waitedFailure(database: string, policy: RetryPolicy, attempts: number): string {
  const delays = Array.from({ length: attempts - 1 }, (_, i) => retryDelayMs(policy, i + 1) / 1000);
  return `${database} did not become ACTIVE after ${attempts} attempts (waited ${delays.join("s, ") || 0}s)`;
}

/** Polls an operation until it is done, up to `policy.attempts` polls with the policy's delays. */
async function waitForOperation(
  controlPlane: ControlPlane,
  operation: Operation,
  policy: RetryPolicy,
  sleep: Sleep,
): Promise<Operation> {
  let current = operation;
  for (let attempt = 1; !current.done && attempt <= policy.attempts; attempt++) {
    if (attempt > 1) await sleep(retryDelayMs(policy, attempt - 1));
    current = await withRetry(() => controlPlane.getOperation(current.name), policy, sleep);
  }
  if (!current.done) {
    return {
      ...current,
      error: { code: 4, message: `operation ${current.name} did not finish after ${policy.attempts} polls` },
    };
  }
  return current;
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
        operation = await withRetry(() => controlPlane.getOperation(operation.name), policy, sleep);
      if (operation.error) return { database: null, attempts: attempt, error: operation.error.message };
      if (operation.done) {
        const database = await withRetry(() => controlPlane.getDatabase(), policy, sleep);
        if (database) return { database, attempts: attempt };
      }
    } catch (error) {
      if (!(error instanceof ControlPlaneError)) throw error;
      return { database: null, attempts: attempt, error: error.message };
    }
  }
  return { database: null, attempts: policy.attempts };
}
