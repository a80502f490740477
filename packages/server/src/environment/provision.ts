import {
  type ControlPlane,
  ControlPlaneError,
  type IamResource,
  policyGrants,
  serviceAccountEmail,
} from "../gcp/control-plane.js";
import {
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
  realSleep,
  retryControlPlaneCall,
  type Sleep,
  waitForOperation,
} from "../gcp/control-plane-retry.js";
import { readOnlyControlPlane } from "../gcp/read-only.js";
import {
  ENVIRONMENT_APIS,
  type Environment,
  PROJECT_ROLES,
  SECRET_ACCESSOR_ROLE,
  SECRETS,
  serviceAccountDisplayName,
  serviceAccountId,
} from "./catalogue.js";

export type StepKind = "api" | "service_account" | "role" | "secret" | "secret_access";
/** `pending`: a change `plan` found needed (and `apply` would make). */
export type StepStatus = "ok" | "changed" | "pending" | "skipped" | "failed";

export interface EnvironmentStep {
  step: StepKind;
  subject: string;
  status: StepStatus;
  detail: string;
}

export interface EnvironmentReport {
  environment: Environment;
  projectId: string;
  controlPlane: "gcloud" | "rest";
  apply: boolean;
  /** Every step ok (or skipped by design): nothing to change, nothing failed. */
  compliant: boolean;
  /** Control-plane mutations this run made (0 for a plan, and for an apply with nothing to do). */
  changes: number;
  steps: EnvironmentStep[];
  serviceAccount: string;
}

export interface ProvisionOptions {
  controlPlane: ControlPlane;
  environment: Environment;
  /** `false` (plan): read-only, every needed change reported as pending. */
  apply: boolean;
  /** Values for secrets to create (from stdin); never logged, never part of the report. */
  secretValues?: Map<string, string>;
  policy?: RetryPolicy;
  sleep?: Sleep;
}

class StepFailed extends Error {}

/**
 * `firebrick env plan|apply`: the migration plan's environment setup, idempotent. Enables the plan's APIs,
 * creates the environment's service account, grants it its project roles, creates the plan's secrets
 * that are absent (values from `secretValues`, never overwriting an existing one) and lets the account
 * read each of them. A plan runs on a read-only control plane and changes nothing.
 *
 * @example
 * const report = await provisionEnvironment({ controlPlane, environment: "prod", apply: false });
 */
export async function provisionEnvironment(options: ProvisionOptions): Promise<EnvironmentReport> {
  const { environment, apply } = options;
  const controlPlane = apply ? options.controlPlane : readOnlyControlPlane(options.controlPlane);
  const { projectId } = controlPlane;
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const sleep = options.sleep ?? realSleep;
  const values = options.secretValues ?? new Map<string, string>();
  const call = <T>(operation: () => Promise<T>) => retryControlPlaneCall(operation, policy, sleep);
  const steps: EnvironmentStep[] = [];
  let changes = 0;
  const add = (step: StepKind, subject: string, status: StepStatus, detail: string) => {
    steps.push({ step, subject, status, detail });
  };
  /** A control-plane failure: its line, then the run stops (past an API error nothing more is known). */
  const guarded = async <T>(step: StepKind, subject: string, operation: () => Promise<T>): Promise<T> => {
    try {
      return await operation();
    } catch (error) {
      if (!(error instanceof ControlPlaneError)) throw error;
      add(
        step,
        subject,
        "failed",
        error.transient ? `${error.message} (still failing after retries)` : error.message,
      );
      throw new StepFailed();
    }
  };
  const accountId = serviceAccountId(environment);
  const email = serviceAccountEmail(accountId, projectId);
  const member = `serviceAccount:${email}`;

  try {
    // 1. APIs.
    const enabled = new Set(
      await guarded("api", "services", () => call(() => controlPlane.listEnabledServices())),
    );
    const missing = ENVIRONMENT_APIS.filter((api) => !enabled.has(api));
    for (const api of ENVIRONMENT_APIS) if (enabled.has(api)) add("api", api, "ok", "enabled");
    if (missing.length > 0 && !apply) {
      for (const api of missing) add("api", api, "pending", "would enable it");
    } else if (missing.length > 0) {
      const operation = await guarded("api", missing.join(", "), () =>
        call(() => controlPlane.enableServices([...missing])),
      );
      changes++;
      const done = await guarded("api", missing.join(", "), () =>
        waitForOperation((name) => controlPlane.getOperation(name), operation, policy, sleep),
      );
      for (const api of missing)
        add(
          "api",
          api,
          done.error ? "failed" : "changed",
          done.error ? `enabling failed: ${done.error.message}` : "enabled it",
        );
      if (done.error) throw new StepFailed();
      for (const api of missing) enabled.add(api);
    }
    const once = (api: string) => (enabled.has(api) ? "" : ` (once ${api} is enabled)`);

    // 2. The environment's service account.
    let accountExists = false;
    let accountCreated = false;
    if (!enabled.has("iam.googleapis.com")) {
      add("service_account", email, "pending", `would create it${once("iam.googleapis.com")}`);
    } else {
      const account = await guarded("service_account", email, () =>
        call(() => controlPlane.getServiceAccount(email)),
      );
      if (account) {
        accountExists = true;
        add("service_account", email, "ok", "exists");
      } else if (!apply) {
        add(
          "service_account",
          email,
          "pending",
          `would create it (${serviceAccountDisplayName(environment)})`,
        );
      } else {
        await guarded("service_account", email, () =>
          call(() => controlPlane.createServiceAccount(accountId, serviceAccountDisplayName(environment))),
        );
        changes++;
        accountExists = accountCreated = true;
        add("service_account", email, "changed", `created it (${serviceAccountDisplayName(environment)})`);
      }
    }

    /**
     * Grants `role` on `resource` to the account. A fresh account takes a moment to be known to IAM: until
     * then a policy naming it is refused as "does not exist", which is then worth retrying.
     */
    const grant = async (step: StepKind, subject: string, resource: IamResource, role: string) => {
      const current = await guarded(step, subject, () => call(() => controlPlane.getIamPolicy(resource)));
      if (accountExists && policyGrants(current, role, member))
        return add(step, subject, "ok", `${member} has ${role}`);
      if (!apply || !accountExists) return add(step, subject, "pending", `would grant ${role} to ${member}`);
      await guarded(step, subject, () =>
        call(() =>
          controlPlane.addIamBinding(resource, role, member).catch((error: unknown) => {
            if (
              accountCreated &&
              error instanceof ControlPlaneError &&
              error.status === "INVALID_ARGUMENT" &&
              error.message.includes(email)
            ) {
              throw new ControlPlaneError(error.status, error.message, error.httpStatus, {
                cause: error,
                transient: true,
              });
            }
            throw error;
          }),
        ),
      );
      changes++;
      add(step, subject, "changed", `granted ${role} to ${member}`);
    };

    // 3. Its roles on the project.
    for (const role of PROJECT_ROLES) await grant("role", role, { type: "project" }, role);

    // 4. The secrets, created when absent; an existing one is never overwritten.
    const readable: string[] = [];
    const secretManager = "secretmanager.googleapis.com";
    for (const secret of SECRETS) {
      const value = values.get(secret.id);
      if (!enabled.has(secretManager)) {
        if (secret.required || value !== undefined)
          add("secret", secret.id, "pending", `would create it${once(secretManager)}`);
        else add("secret", secret.id, "skipped", "optional; created when env apply is given a value");
        continue;
      }
      const found = await guarded("secret", secret.id, () => call(() => controlPlane.getSecret(secret.id)));
      const hasValue =
        found !== null &&
        (
          await guarded("secret", secret.id, () => call(() => controlPlane.listSecretVersions(secret.id)))
        ).some((version) => version.state === "ENABLED");
      if (hasValue) {
        readable.push(secret.id);
        add(
          "secret",
          secret.id,
          "ok",
          value === undefined
            ? "exists"
            : "exists (the value given was not used: a secret is never overwritten; add a version to rotate it)",
        );
        continue;
      }
      const missingWhat = found ? "has no enabled version" : "is absent";
      if (value === undefined) {
        if (!secret.required) {
          add(
            "secret",
            secret.id,
            "skipped",
            `${missingWhat} (optional; created when env apply is given a value)`,
          );
        } else if (!apply) {
          add("secret", secret.id, "pending", `${missingWhat}: env apply would create it from stdin`);
        } else {
          add(
            "secret",
            secret.id,
            "failed",
            `${missingWhat}: give its value on stdin (${secret.id}=… with --secrets-stdin)`,
          );
        }
        continue;
      }
      if (!apply) {
        add("secret", secret.id, "pending", `${missingWhat}: would create it`);
        continue;
      }
      if (!found) {
        await guarded("secret", secret.id, () => call(() => controlPlane.createSecret(secret.id)));
        changes++;
      }
      // Not retried: a version added twice would be two versions.
      await guarded("secret", secret.id, () =>
        controlPlane.addSecretVersion(secret.id, Buffer.from(value, "utf8")),
      );
      changes++;
      readable.push(secret.id);
      add("secret", secret.id, "changed", found ? "added its first version" : "created it");
    }

    // 5. The account reads each secret (on the secret, not project-wide).
    for (const secretId of readable) {
      await grant("secret_access", secretId, { type: "secret", secretId }, SECRET_ACCESSOR_ROLE);
    }
    for (const step of steps.filter((entry) => entry.step === "secret" && entry.status === "pending")) {
      add(
        "secret_access",
        step.subject,
        "pending",
        `would grant ${SECRET_ACCESSOR_ROLE} to ${member} once it exists`,
      );
    }
  } catch (error) {
    if (!(error instanceof StepFailed)) throw error;
  }
  return {
    environment,
    projectId,
    controlPlane: controlPlane.kind,
    apply,
    compliant: steps.every((step) => step.status !== "pending" && step.status !== "failed"),
    changes,
    steps,
    serviceAccount: email,
  };
}
