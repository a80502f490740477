import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ConfigError } from "../config/config-error.js";
import { DATABASE_ID_RULE, databaseIdSchema } from "../config/gcp.js";
import {
  type BackupScheduleSpec,
  DAYS_OF_WEEK,
  type DayOfWeek,
  DEFAULT_DATABASE,
} from "../gcp/control-plane.js";
import { isVerifiableRole, verifiableRoles } from "../gcp/iam-roles.js";

/** The seed's ten configuration keys, and the four of production provisioning, typed. */
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
  /** The Firestore database: `(default)` or a named one (the service must use the same). */
  databaseId: string;
  /** `undefined`: not managed (reported as it is); `true`/`false`: reconciled to it. */
  pointInTimeRecovery: boolean | undefined;
  /** `undefined`: not managed (reported as it is); `true`/`false`: reconciled to it. */
  deleteProtection: boolean | undefined;
  /** `undefined`: not managed (reported as they are); otherwise one daily and/or one weekly schedule. */
  backupSchedules: BackupScheduleSpec[] | undefined;
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
  databaseId: DEFAULT_DATABASE,
  pointInTimeRecovery: undefined,
  deleteProtection: undefined,
  backupSchedules: undefined,
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
  database_id: [databaseIdSchema, DATABASE_ID_RULE],
  point_in_time_recovery: [z.boolean(), "true or false"],
  delete_protection: [z.boolean(), "true or false"],
  // Checked entry by entry below, so that each wrong sub-key is named.
  backup_schedule: [z.unknown(), "a backup schedule"],
} as const satisfies Record<string, readonly [z.ZodType, string]>;

type Key = keyof typeof KEYS;

const FIELD: Record<Exclude<Key, "backup_schedule">, keyof BootstrapConfig> = {
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
  database_id: "databaseId",
  point_in_time_recovery: "pointInTimeRecovery",
  delete_protection: "deleteProtection",
};

// Firestore keeps a backup at most 14 weeks, daily or weekly alike.
const MAX_RETENTION_SECONDS = 14 * 7 * 86_400;
const DAY = 86_400;

/** The extension's declaration besides its config. */
export interface BootstrapExtension {
  config: BootstrapConfig;
  requiredRoles: string[];
  /** The config keys the file sets (the others took their defaults). */
  setKeys: string[];
}

/**
 * Every error of a configuration file at once (issue 20): one line each. A `ConfigError`, so exit status 2;
 * with a single error its message is that error's own.
 */
export class BootstrapConfigErrors extends ConfigError {
  override name = "BootstrapConfigErrors";
  constructor(readonly errors: ConfigError[]) {
    const [first] = errors as [ConfigError];
    super(first.key, first.expected, first.got);
    if (errors.length > 1) {
      this.message = `${errors.length} configuration errors:\n${errors.map((error) => `  ${error.message}`).join("\n")}`;
    }
  }
}

/**
 * Parses the seed's YAML shape (`extensions: firestore-sessions: { type, required_roles, config }`).
 * Throws a `ConfigError` naming every bad key; keys left out take their defaults.
 *
 * @example
 * const { config, requiredRoles } = parseBootstrapConfig(readFileSync("bootstrap.yaml", "utf8"));
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
  const errors: ConfigError[] = [];
  for (const key of Object.keys(extension)) {
    if (!["type", "required_roles", "config"].includes(key)) {
      errors.push(
        new ConfigError(`${PREFIX}.${key}`, "one of type, required_roles, config", "an unknown key"),
      );
    }
  }
  if (extension.type !== undefined && extension.type !== EXTENSION) {
    errors.push(new ConfigError(`${PREFIX}.type`, `"${EXTENSION}"`, String(extension.type)));
  }
  const requiredRoles = parseRoles(extension.required_roles ?? [], errors);
  let raw: Record<string, unknown> = {};
  if (extension.config !== undefined && extension.config !== null) {
    try {
      raw = objectAt(extension, "config", `${PREFIX}.config`);
    } catch (error) {
      errors.push(error as ConfigError);
    }
  }
  const config: BootstrapConfig = { ...DEFAULT_BOOTSTRAP_CONFIG };
  for (const [key, value] of Object.entries(raw)) {
    const name = `${PREFIX}.config.${key}`;
    if (!(key in KEYS)) {
      // A typo must not silently become a default.
      errors.push(
        new ConfigError(name, `one of the known keys (${Object.keys(KEYS).join(", ")})`, "an unknown key"),
      );
      continue;
    }
    if (key === "backup_schedule") {
      config.backupSchedules = parseBackupSchedules(value, name, errors);
      continue;
    }
    const [schema, expected] = KEYS[key as Key];
    const result = schema.safeParse(value);
    if (!result.success) {
      errors.push(new ConfigError(name, expected, shown(value)));
      continue;
    }
    (config as unknown as Record<string, unknown>)[FIELD[key as keyof typeof FIELD]] = result.data;
  }
  if (errors.length > 0) throw new BootstrapConfigErrors(errors);
  return { config, requiredRoles, setKeys: Object.keys(raw) };
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

function parseRoles(roles: unknown, errors: ConfigError[]): string[] {
  const name = `${PREFIX}.required_roles`;
  if (!Array.isArray(roles)) {
    errors.push(new ConfigError(name, "a list of IAM roles (roles/…)", shown(roles)));
    return [];
  }
  const valid: string[] = [];
  for (const [i, role] of roles.entries()) {
    if (typeof role !== "string" || !/^roles\/[\w.]+$/.test(role)) {
      errors.push(new ConfigError(`${name}[${i}]`, "an IAM role (roles/…)", shown(role)));
    } else if (!isVerifiableRole(role)) {
      errors.push(
        new ConfigError(
          `${name}[${i}]`,
          `a role Firebrick can verify (${verifiableRoles().join(", ")})`,
          role,
        ),
      );
    } else if (!valid.includes(role)) {
      valid.push(role);
    }
  }
  return valid;
}

const DAY_NAMES: Record<string, DayOfWeek> = Object.fromEntries(
  DAYS_OF_WEEK.flatMap((day) => [
    [day.toLowerCase(), day],
    [day.slice(0, 3).toLowerCase(), day],
  ]),
);

/**
 * `backup_schedule`: one mapping or a list of at most two (one daily, one weekly, as Firestore allows),
 * each `{ recurrence: daily|weekly, retention: <n>d|<n>w, day_of_week: monday… (weekly only) }`.
 */
function parseBackupSchedules(value: unknown, name: string, errors: ConfigError[]): BackupScheduleSpec[] {
  const entries = Array.isArray(value) ? value : [value];
  const specs: BackupScheduleSpec[] = [];
  const before = errors.length;
  if (entries.length === 0 || entries.length > 2) {
    errors.push(
      new ConfigError(name, "one schedule, or a list of at most two (one daily, one weekly)", shown(value)),
    );
    return [];
  }
  for (const [i, entry] of entries.entries()) {
    const at = Array.isArray(value) ? `${name}[${i}]` : name;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      errors.push(new ConfigError(at, "a mapping with recurrence and retention", shown(entry)));
      continue;
    }
    const { recurrence, retention, day_of_week: day, ...unknown } = entry as Record<string, unknown>;
    for (const key of Object.keys(unknown)) {
      errors.push(
        new ConfigError(`${at}.${key}`, "one of recurrence, retention, day_of_week", "an unknown key"),
      );
    }
    if (recurrence !== "daily" && recurrence !== "weekly") {
      errors.push(new ConfigError(`${at}.recurrence`, "daily or weekly", shown(recurrence)));
      continue;
    }
    const retentionSeconds = parseRetention(retention);
    if (retentionSeconds === undefined) {
      errors.push(
        new ConfigError(
          `${at}.retention`,
          "a duration in days or weeks (e.g. 7d, 14w), from 1d to 14w",
          shown(retention),
        ),
      );
    }
    let weekday: DayOfWeek | undefined;
    if (recurrence === "weekly") {
      weekday = typeof day === "string" ? DAY_NAMES[day.toLowerCase()] : undefined;
      if (!weekday)
        errors.push(new ConfigError(`${at}.day_of_week`, "a day of the week (monday … sunday)", shown(day)));
    } else if (day !== undefined) {
      errors.push(new ConfigError(`${at}.day_of_week`, "absent for a daily schedule", shown(day)));
    }
    if (retentionSeconds !== undefined) {
      specs.push({ recurrence, retentionSeconds, ...(weekday && { day: weekday }) });
    }
  }
  if (specs.length === 2 && specs[0]!.recurrence === specs[1]!.recurrence) {
    errors.push(
      new ConfigError(
        name,
        "at most one daily and one weekly schedule",
        `two ${specs[0]!.recurrence} schedules`,
      ),
    );
  }
  return errors.length > before ? [] : specs;
}

function parseRetention(value: unknown): number | undefined {
  const match = typeof value === "string" ? value.match(/^(\d{1,3})([dw])$/) : null;
  if (!match) return undefined;
  const seconds = Number(match[1]) * (match[2] === "w" ? 7 : 1) * DAY;
  return seconds >= DAY && seconds <= MAX_RETENTION_SECONDS ? seconds : undefined;
}

/** A retention in the configuration's own words: whole weeks as `w`, else days. */
export function describeRetention(seconds: number): string {
  const days = Math.round(seconds / DAY);
  if (Number.isFinite(days) && days * DAY === seconds) return days % 7 === 0 ? `${days / 7}w` : `${days}d`;
  return `${seconds}s`;
}

function shown(value: unknown): string {
  return typeof value === "string" ? value : (JSON.stringify(value) ?? "nothing");
}

function objectAt(parent: unknown, key: string, name: string): Record<string, unknown> {
  const value = (parent as Record<string, unknown> | null | undefined)?.[key];
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError(name, "a mapping", value === undefined ? "nothing" : JSON.stringify(value));
  }
  return value as Record<string, unknown>;
}
