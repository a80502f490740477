import { isIP } from "node:net";
import { z } from "zod";
import { AREAS, type Area } from "../stores/routing/areas.js";
import { ConfigError } from "./config-error.js";
import {
  DATABASE_ID_RULE,
  databaseIdSchema,
  type GcpAccess,
  PROJECT_ID_RULE,
  parseGcpAccess,
  projectIdSchema,
} from "./gcp.js";
import { SECRET_REFERENCES_RULE, type SecretReference, secretReferencesSchema } from "./secrets.js";

export { ConfigError };

/**
 * Firebrick's runtime configuration, parsed and validated once at start-up from the environment
 * (docs/design/configuration.md). Everything downstream receives these typed values, never `process.env`.
 */
export interface Config {
  dataDir: string;
  host: string;
  port: number;
  /** Which areas run on Firestore instead of SQLite (the initial values; persisted changes win). */
  flags: Record<Area, boolean>;
  /** Where Firestore is, if anywhere: read this, never work it out again. */
  firestore: FirestoreTarget;
  /** gcloud's endpoint and token overrides, and the default region (config/gcp.ts). */
  gcp: GcpAccess;
  /** `FIREBRICK_SECRETS`: the keys read from Secret Manager at start-up (config/secrets.ts). */
  secrets: SecretReference[];
  /** The tenant header's name, lower-cased as Node presents header names. */
  tenantHeader: string;
  deviceWritesPerMinute: number;
  /** After how long without accepted telemetry a device is offline (`FIREBRICK_OFFLINE_AFTER_SECONDS`). */
  deviceOfflineAfterMs: number;
  /**
   * `FIREBRICK_CACHE_MEMORY_MIB`, in bytes: what the per-device structures (latest points, devices,
   * limiter records) may hold in memory together (docs/design/fleet.md).
   */
  cacheMemoryBytes: number;
  /**
   * Whether the session cookie carries `Secure`. On by default: browsers and curl treat
   * http://127.0.0.1 and http://localhost as secure contexts and keep Secure cookies there, so
   * `npm start` works locally as is; turn it off (`FIREBRICK_COOKIE_SECURE=0`, local-HTTP mode) only
   * to serve plain HTTP to another host, e.g. on a LAN address.
   */
  cookieSecure: boolean;
  logLevel: LogLevel;
  /** Share of debug/trace log lines kept, 0..0.1 (the plan caps debug sampling at 10 %). */
  debugSampleRate: number;
  /**
   * Which proxies in front of the service to believe about the client's address (`X-Forwarded-For`),
   * as Fastify's `trustProxy`: `false` (none: the socket's peer is the client) or a comma-separated list
   * of proxy addresses and CIDR ranges; the client is the nearest address in `X-Forwarded-For` that is
   * not one of them. Per-IP sign-in limits, session fingerprints and audit entries use that address.
   */
  trustProxy: false | string;
  /**
   * Password checks (sign-ins, password changes) that may wait for one of the two hashing slots; one more
   * is answered `503 UNAVAILABLE` with `Retry-After` at once, so that a sign-in flood gets prompt answers
   * instead of a queue minutes long (docs/design/passwords.md).
   */
  passwordQueue: number;
  /** What one client connection may hold (docs/design/failures.md, "Slow clients"). */
  connections: {
    /** A request whose headers and body have not all arrived within this is answered 408 and closed. */
    requestTimeoutMs: number;
    /** Open connections at most; more are closed as they arrive. */
    max: number;
  };
  /**
   * Webhooks (docs/design/webhooks.md): whether a tenant's webhook may point at a private or local
   * address (`FIREBRICK_WEBHOOK_ALLOW_PRIVATE`); off, so that a tenant cannot make the service probe its
   * own network.
   */
  webhooks: { allowPrivate: boolean };
  /** The service's locks (`@firebrick/lock`): whose clock decides when they expire (see that package's README). */
  locks: { timeAuthority: "server" | "client" };
  /** `firebrick simulate`'s admin credentials (`SIMULATE_USERNAME`, `SIMULATE_PASSWORD`), when given. */
  simulator: { username: string | undefined; password: string | undefined };
  /** Another Java or emulator jar than the defaults, for `serve --emulator` (`JAVA`, `FIRESTORE_EMULATOR_JAR`). */
  localEmulator: { java: string | undefined; jar: string | undefined };
}

/**
 * No Firestore (every area on SQLite); an emulator (`FIRESTORE_EMULATOR_HOST`, `host:port`); or a real
 * project reached with Application Default Credentials.
 */
export type FirestoreTarget =
  // `projectId` reads as "the project, if any" on every kind; `databaseId` as "the database, if any".
  | { kind: "none"; projectId?: undefined; databaseId?: undefined }
  // The emulator takes any project id; unset, clients use DEFAULT_EMULATOR_PROJECT.
  | { kind: "emulator"; host: string; projectId: string | undefined; databaseId: string }
  // `databaseId`: FIRESTORE_DATABASE_ID, `(default)` unless set.
  | { kind: "project"; projectId: string; databaseId: string };

/** The project id on an emulator when none is configured (a `demo-` project never reaches GCP). */
export const DEFAULT_EMULATOR_PROJECT = "demo-firebrick";

/** The variable that sets an area's initial flag, e.g. `USE_FIRESTORE_AUTH`. */
export type FlagVariable = `USE_FIRESTORE_${Uppercase<Area>}`;
export const flagVariable = (area: Area) => `USE_FIRESTORE_${area.toUpperCase()}` as FlagVariable;

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const flag = z.enum(["0", "1", "true", "false"]).transform((value) => value === "1" || value === "true");
const integer = (min: number, max: number) =>
  z.string().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(min).max(max));

// An address or CIDR range, or one of proxy-addr's names for the private ranges.
const PROXY_NAMES = new Set(["loopback", "linklocal", "uniquelocal"]);
function isProxyAddress(entry: string): boolean {
  if (PROXY_NAMES.has(entry)) return true;
  const [address = "", prefix, ...rest] = entry.split("/");
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}
// No hop counts: Fastify cannot check the immediate peer against one and ignores it (fails closed).
const trustProxy = z.union([
  z.enum(["0", "false"]).transform(() => false as const),
  z
    .string()
    .transform((value) => value.split(",").map((entry) => entry.trim()))
    .refine((entries) => entries.every(isProxyAddress))
    .transform((entries) => entries.join(",")),
]);

// One USE_FIRESTORE_<AREA> per area of the store router.
const FLAG_KEYS = {} as Record<FlagVariable, readonly [typeof flag, string]>;
for (const area of AREAS) FLAG_KEYS[flagVariable(area)] = [flag, "1 or 0"];

/** Each key with its schema and the sentence used when it is wrong. */
const KEYS = {
  FIREBRICK_DATA_DIR: [z.string().min(1), "a non-empty directory path"],
  HOST: [z.string().regex(/^[A-Za-z0-9.:[\]-]+$/), "a host name or IP address"],
  PORT: [integer(0, 65535), "an integer from 0 to 65535"],
  ...FLAG_KEYS,
  GOOGLE_CLOUD_PROJECT: [projectIdSchema, PROJECT_ID_RULE],
  GCP_PROJECT_ID: [projectIdSchema, PROJECT_ID_RULE],
  FIRESTORE_EMULATOR_HOST: [z.string().regex(/^[A-Za-z0-9.[\]:-]+:\d{1,5}$/), "host:port"],
  FIRESTORE_DATABASE_ID: [databaseIdSchema, DATABASE_ID_RULE],
  FIREBRICK_SECRETS: [secretReferencesSchema, SECRET_REFERENCES_RULE],
  TENANT_ID_HEADER: [
    z.string().regex(/^[A-Za-z0-9-]{1,64}$/),
    "an HTTP header name (letters, digits, hyphens)",
  ],
  DEVICE_WRITES_PER_MINUTE: [integer(1, 100_000), "an integer from 1 to 100000"],
  FIREBRICK_CACHE_MEMORY_MIB: [integer(8, 65_536), "an integer from 8 to 65536 (MiB)"],
  // At least 2 minutes: last_seen_ms is kept to the minute (devices/connectivity.ts), so a shorter time
  // would call a device that writes steadily offline.
  FIREBRICK_OFFLINE_AFTER_SECONDS: [integer(120, 7 * 86_400), "an integer from 120 to 604800 (seconds)"],
  FIREBRICK_COOKIE_SECURE: [flag, "1 or 0"],
  FIREBRICK_WEBHOOK_ALLOW_PRIVATE: [flag, "1 or 0"],
  FIREBRICK_LOG_LEVEL: [z.enum(LOG_LEVELS), `one of ${LOG_LEVELS.join(", ")}`],
  FIREBRICK_LOG_DEBUG_SAMPLE_RATE: [
    z
      .string()
      .regex(/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/)
      .transform(Number)
      .pipe(z.number().min(0).max(0.1)),
    "a number from 0 to 0.1 (debug sampling is capped at 10 %)",
  ],
  FIREBRICK_LOCK_TIME_AUTHORITY: [
    z.enum(["server", "client"]),
    "server (Firestore's clock decides lock expiry) or client (each instance's clock; NTP required)",
  ],
  FIREBRICK_PASSWORD_QUEUE: [integer(0, 10_000), "an integer from 0 to 10000"],
  FIREBRICK_REQUEST_TIMEOUT_MS: [integer(100, 600_000), "an integer from 100 to 600000 (milliseconds)"],
  FIREBRICK_MAX_CONNECTIONS: [integer(1, 1_000_000), "an integer from 1 to 1000000"],
  FIREBRICK_TRUST_PROXY: [
    trustProxy,
    "0, or the proxies' addresses and CIDR ranges, comma-separated (e.g. 10.0.0.0/8,loopback)",
  ],
  // Empty means unset: `SIMULATE_PASSWORD= firebrick simulate …` asks for the password.
  SIMULATE_USERNAME: [z.string().transform((value) => value || undefined), "a username"],
  SIMULATE_PASSWORD: [z.string().transform((value) => value || undefined), "a password"],
  JAVA: [z.string(), "the path of a Java 17 executable"],
  FIRESTORE_EMULATOR_JAR: [z.string(), "the path of the Firestore emulator jar"],
} as const satisfies Record<string, readonly [z.ZodType, string]>;

type Key = keyof typeof KEYS;
type Parsed = { [K in Key]?: z.output<(typeof KEYS)[K][0]> };

// Our own prefixes: a variable under them that we do not know is a typo, and typos must not become defaults.
const OWN_PREFIXES = ["FIREBRICK_", "USE_FIRESTORE_"];

export interface ConfigOverrides {
  host?: string | undefined;
  port?: string | undefined;
}

/** Defaults of their own for a command (the demo's write budget and log level), used when a key is unset. */
export type ConfigDefaults = Partial<Pick<Config, "deviceWritesPerMinute" | "logLevel">>;

/**
 * Reads and validates the configuration. Throws `ConfigError` naming the first bad key.
 *
 * @example
 * const config = loadConfig(process.env, { port: "9090" });
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = processEnvironment(),
  overrides: ConfigOverrides = {},
  defaults: ConfigDefaults = {},
): Config {
  for (const name of Object.keys(env)) {
    if (OWN_PREFIXES.some((prefix) => name.startsWith(prefix)) && !(name in KEYS) && !IGNORED.has(name)) {
      throw new ConfigError(
        name,
        `one of the known keys (${Object.keys(KEYS).join(", ")})`,
        "an unknown key",
      );
    }
  }
  const raw: Record<string, string | undefined> = {
    ...env,
    ...(overrides.host !== undefined && { HOST: overrides.host }),
    ...(overrides.port !== undefined && { PORT: overrides.port }),
  };
  const parsed: Parsed = {};
  for (const key of Object.keys(KEYS) as Key[]) {
    const value = raw[key];
    if (value === undefined) continue;
    const [schema, expected] = KEYS[key];
    const result = schema.safeParse(value);
    if (!result.success) throw new ConfigError(key, expected, value);
    (parsed as Record<string, unknown>)[key] = result.data;
  }
  if (
    parsed.GOOGLE_CLOUD_PROJECT &&
    parsed.GCP_PROJECT_ID &&
    parsed.GOOGLE_CLOUD_PROJECT !== parsed.GCP_PROJECT_ID
  ) {
    throw new ConfigError(
      "GCP_PROJECT_ID",
      "equal to GOOGLE_CLOUD_PROJECT when both are set",
      parsed.GCP_PROJECT_ID,
    );
  }
  for (const { key } of parsed.FIREBRICK_SECRETS ?? []) {
    if (!(key in KEYS) || key === "FIREBRICK_SECRETS") {
      throw new ConfigError("FIREBRICK_SECRETS", `to name known keys (${key} is not one)`);
    }
  }
  const firestore = firestoreTarget(parsed);
  const flags = Object.fromEntries(
    AREAS.map((area) => [area, parsed[flagVariable(area)] ?? false]),
  ) as Record<Area, boolean>;
  return {
    dataDir: parsed.FIREBRICK_DATA_DIR ?? "./data",
    host: parsed.HOST ?? "127.0.0.1",
    port: parsed.PORT ?? 8080,
    flags,
    firestore,
    gcp: parseGcpAccess(env),
    secrets: parsed.FIREBRICK_SECRETS ?? [],
    tenantHeader: (parsed.TENANT_ID_HEADER ?? "X-BAS-Tenant").toLowerCase(),
    deviceWritesPerMinute: parsed.DEVICE_WRITES_PER_MINUTE ?? defaults.deviceWritesPerMinute ?? 5,
    // 64 MiB: with an idle server at ~140 MiB and the sign-in hashing at ~130 MiB, a 512 MiB instance
    // keeps room to spare (bench/README.md, growth).
    cacheMemoryBytes: (parsed.FIREBRICK_CACHE_MEMORY_MIB ?? 64) * 2 ** 20,
    deviceOfflineAfterMs: (parsed.FIREBRICK_OFFLINE_AFTER_SECONDS ?? 300) * 1000,
    cookieSecure: parsed.FIREBRICK_COOKIE_SECURE ?? true,
    logLevel: parsed.FIREBRICK_LOG_LEVEL ?? defaults.logLevel ?? "info",
    debugSampleRate: parsed.FIREBRICK_LOG_DEBUG_SAMPLE_RATE ?? 0.1,
    trustProxy: parsed.FIREBRICK_TRUST_PROXY ?? false,
    passwordQueue: parsed.FIREBRICK_PASSWORD_QUEUE ?? 16,
    connections: {
      requestTimeoutMs: parsed.FIREBRICK_REQUEST_TIMEOUT_MS ?? 30_000,
      max: parsed.FIREBRICK_MAX_CONNECTIONS ?? 1024,
    },
    webhooks: { allowPrivate: parsed.FIREBRICK_WEBHOOK_ALLOW_PRIVATE ?? false },
    locks: { timeAuthority: parsed.FIREBRICK_LOCK_TIME_AUTHORITY ?? "server" },
    simulator: { username: parsed.SIMULATE_USERNAME, password: parsed.SIMULATE_PASSWORD },
    localEmulator: { java: parsed.JAVA, jar: parsed.FIRESTORE_EMULATOR_JAR },
  };
}

function firestoreTarget(parsed: Parsed): FirestoreTarget {
  const projectId = parsed.GOOGLE_CLOUD_PROJECT ?? parsed.GCP_PROJECT_ID;
  const databaseId = parsed.FIRESTORE_DATABASE_ID ?? "(default)";
  if (parsed.FIRESTORE_EMULATOR_HOST) {
    return { kind: "emulator", host: parsed.FIRESTORE_EMULATOR_HOST, projectId, databaseId };
  }
  return projectId ? { kind: "project", projectId, databaseId } : { kind: "none" };
}

/**
 * The process's environment: the one place outside a test that reads it, so that everything else gets
 * its configuration parsed (docs/design/configuration.md).
 */
export function processEnvironment(): NodeJS.ProcessEnv {
  return process.env;
}

/** Variables under our prefixes that belong to tooling rather than to the server's configuration. */
const IGNORED = new Set(["FIREBRICK_LIVE_GCP"]);
