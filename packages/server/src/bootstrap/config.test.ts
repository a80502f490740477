import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../config/env.js";
import {
  BootstrapConfigErrors,
  DEFAULT_BOOTSTRAP_CONFIG,
  loadBootstrapConfig,
  parseBootstrapConfig,
} from "./config.js";

// The seed's sample file, verbatim in shape.
const SEED_SAMPLE = `
extensions:
  firestore-sessions:
    type: "firestore-sessions"
    required_roles:
      - "roles/datastore.owner"
      - "roles/serviceusage.serviceUsageAdmin"
    config:
      collection_name: "zarch_sessions"
      doc_id: "sessions"
      schema_version: 1
      enable_api: true
      create_database_if_missing: true
      database_location: "us-east4"
      preflight_only: false
      retry_attempts: 3
      retry_initial_delay_seconds: 1.0
      retry_backoff_multiplier: 2.0
`;

function withConfig(config: string): string {
  return `extensions:\n  firestore-sessions:\n    type: firestore-sessions\n    config:\n${config
    .split("\n")
    .map((line) => `      ${line}`)
    .join("\n")}\n`;
}

function errorOf(text: string): ConfigError {
  try {
    parseBootstrapConfig(text);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("bootstrap configuration", () => {
  it("reads every key of the seed's sample file", () => {
    const { config, requiredRoles } = parseBootstrapConfig(SEED_SAMPLE);
    expect(config).toEqual({
      collectionName: "zarch_sessions",
      docId: "sessions",
      schemaVersion: 1,
      enableApi: true,
      createDatabaseIfMissing: true,
      databaseLocation: "us-east4",
      preflightOnly: false,
      retryAttempts: 3,
      retryInitialDelaySeconds: 1,
      retryBackoffMultiplier: 2,
      // The production keys, left out of the seed's sample: the database is (default), protection unmanaged.
      databaseId: "(default)",
      pointInTimeRecovery: undefined,
      deleteProtection: undefined,
      backupSchedules: undefined,
    });
    expect(requiredRoles).toEqual(["roles/datastore.owner", "roles/serviceusage.serviceUsageAdmin"]);
  });

  it("applies the seed's defaults to keys left out (create_database_if_missing false, location unset)", () => {
    const { config } = parseBootstrapConfig(
      "extensions:\n  firestore-sessions:\n    type: firestore-sessions\n",
    );
    expect(config).toEqual(DEFAULT_BOOTSTRAP_CONFIG);
    expect(config.createDatabaseIfMissing).toBe(false);
    expect(config.databaseLocation).toBeUndefined();
  });

  it.each([
    ["schema_version: 0", "extensions.firestore-sessions.config.schema_version", "a positive integer"],
    ["schema_version: 1.5", "extensions.firestore-sessions.config.schema_version", "a positive integer"],
    ['schema_version: "1"', "extensions.firestore-sessions.config.schema_version", "a positive integer"],
    ["retry_attempts: 0", "extensions.firestore-sessions.config.retry_attempts", "a positive integer"],
    [
      "retry_initial_delay_seconds: -1",
      "extensions.firestore-sessions.config.retry_initial_delay_seconds",
      "positive",
    ],
    [
      "retry_backoff_multiplier: 0.5",
      "extensions.firestore-sessions.config.retry_backoff_multiplier",
      "from 1 to 10",
    ],
    [
      'database_location: "Mars"',
      "extensions.firestore-sessions.config.database_location",
      "Firestore location",
    ],
    ['collection_name: "a/b"', "extensions.firestore-sessions.config.collection_name", "collection id"],
    ['doc_id: "__x__"', "extensions.firestore-sessions.config.doc_id", "document id"],
    ['enable_api: "yes"', "extensions.firestore-sessions.config.enable_api", "true or false"],
    ["retry_atempts: 3", "extensions.firestore-sessions.config.retry_atempts", "known keys"],
    ["database_id: Prod", "extensions.firestore-sessions.config.database_id", "database id"],
    ['database_id: "ab"', "extensions.firestore-sessions.config.database_id", "database id"],
    [
      "point_in_time_recovery: 1",
      "extensions.firestore-sessions.config.point_in_time_recovery",
      "true or false",
    ],
    ['delete_protection: "on"', "extensions.firestore-sessions.config.delete_protection", "true or false"],
    [
      "backup_schedule: { recurrence: daily, retention: 15w }",
      "extensions.firestore-sessions.config.backup_schedule.retention",
      "from 1d to 14w",
    ],
    [
      "backup_schedule: { recurrence: weekly, retention: 2w }",
      "extensions.firestore-sessions.config.backup_schedule.day_of_week",
      "a day of the week",
    ],
    [
      "backup_schedule: { recurrence: daily, retention: 7d, day_of_week: monday }",
      "extensions.firestore-sessions.config.backup_schedule.day_of_week",
      "absent for a daily schedule",
    ],
    [
      "backup_schedule: [{ recurrence: daily, retention: 7d }, { recurrence: daily, retention: 2d }]",
      "extensions.firestore-sessions.config.backup_schedule",
      "at most one daily and one weekly",
    ],
    [
      "backup_schedule: { recurrence: daily, retention: 7d, hour: 3 }",
      "extensions.firestore-sessions.config.backup_schedule.hour",
      "one of recurrence, retention, day_of_week",
    ],
  ])("rejects %s, naming the key", (line, key, expected) => {
    const error = errorOf(withConfig(line));
    expect(error.key).toBe(key);
    expect(error.message).toContain(expected);
    expect(error.message.split("\n")).toHaveLength(1);
  });

  it("reports every error of a file at once, one line each (not only the first)", () => {
    const error = errorOf(
      `extensions:
  firestore-sessions:
    type: other
    required_roles: [roles/owner, "not a role"]
    config:
      schema_version: 0
      retry_atempts: 3
      backup_schedule: [{ recurrence: weekly, day_of_week: someday, retention: 1y }]
`,
    );
    expect(error).toBeInstanceOf(BootstrapConfigErrors);
    expect((error as BootstrapConfigErrors).errors.map((entry) => entry.key)).toEqual([
      "extensions.firestore-sessions.type",
      "extensions.firestore-sessions.required_roles[0]",
      "extensions.firestore-sessions.required_roles[1]",
      "extensions.firestore-sessions.config.schema_version",
      "extensions.firestore-sessions.config.retry_atempts",
      "extensions.firestore-sessions.config.backup_schedule[0].retention",
      "extensions.firestore-sessions.config.backup_schedule[0].day_of_week",
    ]);
    const lines = error.message.split("\n");
    expect(lines[0]).toBe("7 configuration errors:");
    expect(lines).toHaveLength(8);
  });

  it("refuses required_roles it cannot verify, naming the ones it can", () => {
    const error = errorOf(
      "extensions:\n  firestore-sessions:\n    required_roles: [roles/firestore.admin]\n",
    );
    expect(error.key).toBe("extensions.firestore-sessions.required_roles[0]");
    expect(error.message).toContain("roles/datastore.owner");
  });

  it("rejects a file without the extension, of another type, or not YAML", () => {
    expect(errorOf("extensions: {}\n").key).toBe("extensions.firestore-sessions");
    expect(errorOf("something: else\n").key).toBe("extensions");
    expect(errorOf("extensions:\n  firestore-sessions:\n    type: other\n").key).toBe(
      "extensions.firestore-sessions.type",
    );
    expect(errorOf("extensions: [\n").message).toMatch(/must be valid YAML/);
  });

  it("names an unreadable file as --config", () => {
    const error = (() => {
      try {
        loadBootstrapConfig(join(mkdtempSync(join(tmpdir(), "fb-cfg-")), "missing.yaml"));
      } catch (caught) {
        return caught as ConfigError;
      }
    })();
    expect(error?.key).toBe("--config");
  });

  it("loads a file from disk", () => {
    const path = join(mkdtempSync(join(tmpdir(), "fb-cfg-")), "bootstrap.yaml");
    writeFileSync(path, SEED_SAMPLE);
    expect(loadBootstrapConfig(path).config.databaseLocation).toBe("us-east4");
  });

  it("never crashes on arbitrary input: it parses or throws a ConfigError", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((value) => withConfig(`schema_version: ${JSON.stringify(value)}`)),
        ),
        (text) => {
          try {
            parseBootstrapConfig(text);
          } catch (error) {
            expect(error).toBeInstanceOf(ConfigError);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
