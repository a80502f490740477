import { z } from "zod";
import { ConfigError } from "./config-error.js";

/**
 * How Firebrick reaches Google Cloud, parsed at the edge like the rest of the configuration: gcloud's own
 * variables, so that one set of them points the `gcloud` CLI, the REST control plane and the service's
 * Secret Manager reads at the same endpoints with the same token.
 */

/** The APIs Firebrick calls, by the name gcloud's `CLOUDSDK_API_ENDPOINT_OVERRIDES_<API>` uses. */
export const GCP_APIS = [
  "firestore",
  "serviceusage",
  "iam",
  "cloudresourcemanager",
  "secretmanager",
] as const;
export type GcpApi = (typeof GCP_APIS)[number];

export interface GcpAccess {
  /** Per-API base URLs (`CLOUDSDK_API_ENDPOINT_OVERRIDES_<API>`), each ending in `/`. */
  endpoints: Partial<Record<GcpApi, string>>;
  /** `CLOUDSDK_AUTH_ACCESS_TOKEN_FILE`: a file holding the bearer token, read on every call. */
  accessTokenFile?: string;
  /** The project's default region (`GOOGLE_CLOUD_REGION`, then `CLOUDSDK_COMPUTE_REGION`). */
  region?: string;
}

// Database ids: `(default)`, or 4–63 of [a-z0-9-], starting with a letter, ending with a letter or
// digit, and not UUID-like (Firestore's own rule, as `gcloud firestore databases create` states it).
export const databaseIdSchema = z
  .string()
  .regex(/^(?:\(default\)|[a-z][a-z0-9-]{2,61}[a-z0-9])$/)
  .refine((id) => !/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/.test(id));
export const DATABASE_ID_RULE =
  "(default) or a database id (4–63 lower-case letters, digits or hyphens, starting with a letter)";

const region = /^[a-z]+(?:-[a-z]+)+\d{1,2}$/;

// GCP project ids: 6–30 chars, lower-case letters, digits, hyphens, starting with a letter. The emulator
// accepts more, and demo projects commonly use "demo-…", which also fits.
export const projectIdSchema = z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/);
export const PROJECT_ID_RULE = "a GCP project id (6–30 lower-case letters, digits or hyphens)";

/**
 * The project a command acts on: `--project` when given (validated here, at the edge), else the
 * configured one (`GOOGLE_CLOUD_PROJECT`/`GCP_PROJECT_ID`, already validated by `loadConfig`).
 */
export function projectIdFrom(flag: string | undefined, configured: string | undefined): string {
  if (flag !== undefined) {
    if (!projectIdSchema.safeParse(flag).success) throw new ConfigError("--project", PROJECT_ID_RULE, flag);
    return flag;
  }
  if (!configured) throw new ConfigError("--project", "given (or GOOGLE_CLOUD_PROJECT set)");
  return configured;
}

/** `--database` when given (validated here), else the configured `FIRESTORE_DATABASE_ID`. */
export function databaseIdFrom(flag: string | undefined, configured: string): string {
  if (flag === undefined) return configured;
  if (!databaseIdSchema.safeParse(flag).success) throw new ConfigError("--database", DATABASE_ID_RULE, flag);
  return flag;
}

/**
 * Reads gcloud's endpoint and token overrides and the default region from the environment.
 *
 * @example
 * const access = parseGcpAccess(process.env);
 */
export function parseGcpAccess(env: NodeJS.ProcessEnv): GcpAccess {
  const endpoints: GcpAccess["endpoints"] = {};
  for (const api of GCP_APIS) {
    const key = `CLOUDSDK_API_ENDPOINT_OVERRIDES_${api.toUpperCase()}`;
    const value = env[key];
    if (value === undefined || value === "") continue;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new ConfigError(key, "an http(s) URL", value);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new ConfigError(key, "an http(s) URL", value);
    endpoints[api] = url.href.endsWith("/") ? url.href : `${url.href}/`;
  }
  const regionValue = env.GOOGLE_CLOUD_REGION || env.CLOUDSDK_COMPUTE_REGION || undefined;
  if (regionValue !== undefined && !region.test(regionValue)) {
    throw new ConfigError(
      env.GOOGLE_CLOUD_REGION ? "GOOGLE_CLOUD_REGION" : "CLOUDSDK_COMPUTE_REGION",
      "a region such as us-east4",
      regionValue,
    );
  }
  return {
    endpoints,
    ...(env.CLOUDSDK_AUTH_ACCESS_TOKEN_FILE && { accessTokenFile: env.CLOUDSDK_AUTH_ACCESS_TOKEN_FILE }),
    ...(regionValue && { region: regionValue }),
  };
}
