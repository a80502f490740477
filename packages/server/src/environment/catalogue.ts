import { z } from "zod";

/**
 * What one Firebrick environment needs in its GCP project, from the migration plan's "Environment setup":
 * the APIs to enable, a service account per environment (`bas-app-dev`, `-stg`, `-prod`) with
 * `roles/datastore.user`, and the Secret Manager secrets the service reads, each readable by that
 * account (`roles/secretmanager.secretAccessor` granted on the secret itself, not project-wide, so that
 * an environment's account reads its secrets and nothing else).
 */

export const ENVIRONMENTS = ["dev", "stg", "prod"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** The plan's APIs: Firestore (Native), Secret Manager, Cloud Monitoring, IAM. */
export const ENVIRONMENT_APIS = [
  "firestore.googleapis.com",
  "secretmanager.googleapis.com",
  "monitoring.googleapis.com",
  "iam.googleapis.com",
] as const;

/** Roles the environment's service account holds on the project. */
export const PROJECT_ROLES = ["roles/datastore.user"] as const;

/** The role the environment's service account holds on each of its secrets. */
export const SECRET_ACCESSOR_ROLE = "roles/secretmanager.secretAccessor";

const projectId = z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/);
const positiveMillis = z.string().regex(/^\d{1,16}$/);
const nonEmpty = z.string().min(1).max(4096);

export interface SecretDefinition {
  /** The secret id (Secret Manager allows letters, digits, `-` and `_`: the plan's `telemetry/backfill_start_ms` becomes `telemetry-backfill-start-ms`). */
  id: string;
  /** Required secrets must exist; optional ones are created only when a value is given. */
  required: boolean;
  /** What the value must look like; a wrong value is refused without being echoed. */
  value: z.ZodType<string>;
  expected: string;
}

/** The plan's secrets (its table and its "Secret names (suggested)"). */
export const SECRETS: readonly SecretDefinition[] = [
  { id: "firestore-project-id", required: true, value: projectId, expected: "a GCP project id" },
  {
    id: "telemetry-backfill-start-ms",
    required: false,
    value: positiveMillis,
    expected: "a time in milliseconds since the epoch",
  },
  { id: "auth-admin-username", required: false, value: nonEmpty, expected: "a non-empty user name" },
  { id: "auth-admin-password-hash", required: false, value: nonEmpty, expected: "a non-empty password hash" },
];

/** `bas-app-<environment>`, the plan's service account id. */
export function serviceAccountId(environment: Environment): string {
  return `bas-app-${environment}`;
}

/** `BAS App Prod`, as the plan's `gcloud iam service-accounts create` names it. */
export function serviceAccountDisplayName(environment: Environment): string {
  return `BAS App ${environment[0]!.toUpperCase()}${environment.slice(1)}`;
}
