import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError } from "../config/env.js";

/** The seed's ten configuration keys, typed. */
export interface BootstrapConfig {
  collectionName: string;
  docId: string;
  schemaVersion: number;
  enableApi: boolean;
  createDatabaseIfMissing: boolean;
  /** `undefined`: the project's default region, resolved only when a database must be created. */
  databaseLocation: string | undefined;
  preflightOnly: boolean;
  retryAttempts: number;
  retryInitialDelaySeconds: number;
  retryBackoffMultiplier: number;
}

/** The schema version of the bootstrap document this build of Firebrick writes and understands. */
export const BOOTSTRAP_SCHEMA_VERSION = 1;

/** The seed's defaults (its key table; its sample file differs for `create_database_if_missing`). */
export const DEFAULT_BOOTSTRAP_CONFIG: BootstrapConfig = {
  collectionName: "zarch_sessions",
  docId: "sessions",
  schemaVersion: BOOTSTRAP_SCHEMA_VERSION,
  enableApi: true,
  createDatabaseIfMissing: false,
  databaseLocation: undefined,
  preflightOnly: false,
  retryAttempts: 3,
  retryInitialDelaySeconds: 1.0,
  retryBackoffMultiplier: 2.0,
};

const EXTENSION = "firestore-sessions";
const PREFIX = `extensions.${EXTENSION}`;

// Firestore ids: no slash, not `.` or `..`, not `__…__` (reserved), at most 1500 bytes.
const firestoreId = z
  .string()
  .min(1)
  .refine((id) => !id.includes("/") && id !== "." && id !== ".." && !/^__.*__$/.test(id))
  .refine((id) => Buffer.byteLength(id) <= 1500);
// Firestore locations: a region (`us-east4`, `northamerica-northeast1`) or a multi-region (`nam5`, `eur3`).
const location = z.string().regex(/^(?:[a-z]+(?:-[a-z]+)+\d{1,2}|nam\d{1,2}|eur\d{1,2})$/);

/** Each key with its schema and the sentence used when it is wrong. */
const KEYS = {
  collection_name: [firestoreId, "a Firestore collection id (no '/', not '.', '..' or '__…__')"],
  doc_id: [firestoreId, "a Firestore document id (no '/', not '.', '..' or '__…__')"],
  schema_version: [z.number().int().min(1).max(1_000_000), "a positive integer"],
  enable_api: [z.boolean(), "true or false"],
  create_database_if_missing: [z.boolean(), "true or false"],
  database_location: [location, "a Firestore location such as us-east4, europe-west1, nam5 or eur3"],
  preflight_only: [z.boolean(), "true or false"],
  retry_attempts: [z.number().int().min(1).max(100), "a positive integer (at most 100)"],
  retry_initial_delay_seconds: [
    z.number().positive().max(3600),
    "a positive number of seconds (at most 3600)",
  ],
  retry_backoff_multiplier: [z.number().min(1).max(10), "a number from 1 to 10"],
} as const satisfies Record<string, readonly [z.ZodType, string]>;

type Key = keyof typeof KEYS;

const FIELD: Record<Key, keyof BootstrapConfig> = {
  collection_name: "collectionName",
  doc_id: "docId",
  schema_version: "schemaVersion",
  enable_api: "enableApi",
  create_database_if_missing: "createDatabaseIfMissing",
  database_location: "databaseLocation",
  preflight_only: "preflightOnly",
  retry_attempts: "retryAttempts",
  retry_initial_delay_seconds: "retryInitialDelaySeconds",
  retry_backoff_multiplier: "retryBackoffMultiplier",
};

/** The extension's declaration besides its config, kept for the report. */
export interface BootstrapExtension {
  config: BootstrapConfig;
  requiredRoles: string[];
}

/**
 * Parses the seed's YAML shape (`extensions: firestore-sessions: { type, required_roles, config }`).
 * Throws `ConfigError` naming the first bad key; keys left out take the seed's defaults.
 *
 * @example
 * const { config } = parseBootstrapConfig(readFileSync("bootstrap.yaml", "utf8"));
 */
export function parseBootstrapConfig(text: string, source = "the configuration file"): BootstrapExtension {
  let document: unknown;
  try {
    // Warnings (unknown tags…) would go to the process's stderr; errors still throw.
    document = parseYaml(text, { logLevel: "error" });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new ConfigError(source, "valid YAML", reason);
  }
  const extensions = objectAt(document, "extensions", "extensions");
  const extension = objectAt(extensions, EXTENSION, PREFIX);
  for (const key of Object.keys(extension)) {
    if (!["type", "required_roles", "config"].includes(key)) {
      throw new ConfigError(`${PREFIX}.${key}`, "one of type, required_roles, config", "an unknown key");
    }
  }
  if (extension.type !== undefined && extension.type !== EXTENSION) {
    throw new ConfigError(`${PREFIX}.type`, `"${EXTENSION}"`, String(extension.type));
  }
  const roles = extension.required_roles ?? [];
  if (
    !Array.isArray(roles) ||
    !roles.every((role) => typeof role === "string" && /^roles\/[\w.]+$/.test(role))
  ) {
    throw new ConfigError(`${PREFIX}.required_roles`, "a list of IAM roles (roles/…)", JSON.stringify(roles));
  }
  const raw =
    extension.config === undefined || extension.config === null
      ? {}
      : objectAt(extension, "config", `${PREFIX}.config`);
  const config: BootstrapConfig = { ...DEFAULT_BOOTSTRAP_CONFIG };
  for (const [key, value] of Object.entries(raw)) {
    if (!(key in KEYS)) {
      // A typo must not silently become a default.
      throw new ConfigError(
        `${PREFIX}.config.${key}`,
        `one of the known keys (${Object.keys(KEYS).join(", ")})`,
        "an unknown key",
      );
    }
    const [schema, expected] = KEYS[key as Key];
    const result = schema.safeParse(value);
    if (!result.success) {
      throw new ConfigError(
        `${PREFIX}.config.${key}`,
        expected,
        typeof value === "string" ? value : JSON.stringify(value),
      );
    }
    (config as unknown as Record<string, unknown>)[FIELD[key as Key]] = result.data;
  }
  return { config, requiredRoles: roles as string[] };
}

/** Reads and parses a configuration file; an unreadable file is a `ConfigError` too. */
export function loadBootstrapConfig(path: string): BootstrapExtension {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(
      "--config",
      "a readable file",
      (error as NodeJS.ErrnoException).code ?? String(error),
    );
  }
  return parseBootstrapConfig(text, path);
}

function objectAt(parent: unknown, key: string, name: string): Record<string, unknown> {
  const value = (parent as Record<string, unknown> | null | undefined)?.[key];
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(name, "a mapping", value === undefined ? "nothing" : JSON.stringify(value));
  }
  return value as Record<string, unknown>;
}
