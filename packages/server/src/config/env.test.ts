import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./env.js";

describe("loadConfig", () => {
  it("applies the documented defaults on an empty environment", () => {
    expect(loadConfig({})).toEqual({
      dataDir: "./data",
      host: "127.0.0.1",
      port: 8080,
      flags: { telemetry: false, audit: false, auth: false },
      firestore: { kind: "none" },
      gcp: { endpoints: {} },
      secrets: [],
      tenantHeader: "x-bas-tenant",
      deviceWritesPerMinute: 5,
      cacheMemoryBytes: 64 * 2 ** 20,
      deviceOfflineAfterMs: 300_000,
      cookieSecure: true,
      logLevel: "info",
      debugSampleRate: 0.1,
      trustProxy: false,
      passwordQueue: 16,
      connections: { requestTimeoutMs: 30_000, max: 1024 },
      webhooks: { allowPrivate: false },
      locks: { timeAuthority: "server" },
      simulator: { username: undefined, password: undefined },
      localEmulator: { java: undefined, jar: undefined },
    });
  });

  it("reads every documented key", () => {
    const config = loadConfig({
      FIREBRICK_DATA_DIR: "/var/lib/firebrick",
      HOST: "0.0.0.0",
      PORT: "9090",
      USE_FIRESTORE_TELEMETRY: "1",
      USE_FIRESTORE_AUDIT: "0",
      USE_FIRESTORE_AUTH: "true",
      GCP_PROJECT_ID: "bas-prod-1",
      FIRESTORE_EMULATOR_HOST: "127.0.0.1:8681",
      TENANT_ID_HEADER: "X-Tenant",
      DEVICE_WRITES_PER_MINUTE: "12",
      FIREBRICK_CACHE_MEMORY_MIB: "200",
      FIREBRICK_OFFLINE_AFTER_SECONDS: "900",
      FIREBRICK_COOKIE_SECURE: "0",
      FIREBRICK_LOG_LEVEL: "debug",
      FIREBRICK_LOG_DEBUG_SAMPLE_RATE: "0.05",
      FIREBRICK_TRUST_PROXY: "10.0.0.0/8, 35.191.0.0/16,loopback",
      FIREBRICK_LOCK_TIME_AUTHORITY: "client",
      FIREBRICK_PASSWORD_QUEUE: "4",
      FIREBRICK_REQUEST_TIMEOUT_MS: "5000",
      FIREBRICK_MAX_CONNECTIONS: "200",
      SIMULATE_USERNAME: "demo-admin",
      SIMULATE_PASSWORD: "correct horse",
      JAVA: "/opt/java17/bin/java",
      FIRESTORE_EMULATOR_JAR: "/opt/emulator.jar",
    });
    expect(config).toMatchObject({
      dataDir: "/var/lib/firebrick",
      host: "0.0.0.0",
      port: 9090,
      flags: { telemetry: true, audit: false, auth: true },
      firestore: { kind: "emulator", projectId: "bas-prod-1", host: "127.0.0.1:8681" },
      tenantHeader: "x-tenant",
      deviceWritesPerMinute: 12,
      cacheMemoryBytes: 200 * 2 ** 20,
      deviceOfflineAfterMs: 900_000,
      cookieSecure: false,
      logLevel: "debug",
      debugSampleRate: 0.05,
      trustProxy: "10.0.0.0/8,35.191.0.0/16,loopback",
      passwordQueue: 4,
      connections: { requestTimeoutMs: 5000, max: 200 },
      locks: { timeAuthority: "client" },
      simulator: { username: "demo-admin", password: "correct horse" },
      localEmulator: { java: "/opt/java17/bin/java", jar: "/opt/emulator.jar" },
    });
  });

  it("says where Firestore is once: none, an emulator (any project, or none named) or a project", () => {
    expect(loadConfig({}).firestore).toEqual({ kind: "none" });
    expect(loadConfig({ GCP_PROJECT_ID: "bas-prod-1" }).firestore).toEqual({
      kind: "project",
      projectId: "bas-prod-1",
      databaseId: "(default)",
    });
    expect(loadConfig({ FIRESTORE_EMULATOR_HOST: "[::1]:8681" }).firestore).toEqual({
      kind: "emulator",
      host: "[::1]:8681",
      projectId: undefined,
      databaseId: "(default)",
    });
  });

  it("takes a command's own defaults only for keys the environment leaves unset", () => {
    const demo = { deviceWritesPerMinute: 600, logLevel: "warn" } as const;
    expect(loadConfig({}, {}, demo)).toMatchObject({ deviceWritesPerMinute: 600, logLevel: "warn" });
    expect(
      loadConfig({ DEVICE_WRITES_PER_MINUTE: "12", FIREBRICK_LOG_LEVEL: "debug" }, {}, demo),
    ).toMatchObject({ deviceWritesPerMinute: 12, logLevel: "debug" });
  });

  it("reads FIREBRICK_TRUST_PROXY=0 as trusting no proxy, and takes IPv6 ranges", () => {
    expect(loadConfig({ FIREBRICK_TRUST_PROXY: "0" }).trustProxy).toBe(false);
    expect(loadConfig({ FIREBRICK_TRUST_PROXY: "fd00::/8,::1" }).trustProxy).toBe("fd00::/8,::1");
  });

  it("lets command-line flags override HOST and PORT", () => {
    expect(loadConfig({ PORT: "1" }, { port: "2", host: "::1" })).toMatchObject({ port: 2, host: "::1" });
  });

  it.each([
    ["PORT", "eighty"],
    ["PORT", "70000"],
    ["PORT", "-1"],
    ["USE_FIRESTORE_AUTH", "yes"],
    ["DEVICE_WRITES_PER_MINUTE", "0"],
    ["FIREBRICK_CACHE_MEMORY_MIB", "4"],
    ["FIREBRICK_CACHE_MEMORY_MIB", "64MiB"],
    // last_seen_ms is kept to the minute: a shorter inactivity time would flap steady devices offline.
    ["FIREBRICK_OFFLINE_AFTER_SECONDS", "60"],
    ["FIREBRICK_OFFLINE_AFTER_SECONDS", "5m"],
    ["FIREBRICK_LOG_LEVEL", "loud"],
    ["FIREBRICK_LOCK_TIME_AUTHORITY", "ntp"],
    ["GOOGLE_CLOUD_PROJECT", "Not A Project"],
    ["FIRESTORE_EMULATOR_HOST", "localhost"],
    ["TENANT_ID_HEADER", "X Tenant"],
    ["FIREBRICK_LOG_DEBUG_SAMPLE_RATE", "0.2"],
    ["FIREBRICK_LOG_DEBUG_SAMPLE_RATE", "1"],
    ["FIREBRICK_LOG_DEBUG_SAMPLE_RATE", "-0.01"],
    ["FIREBRICK_LOG_DEBUG_SAMPLE_RATE", "ten percent"],
    // Trusting every peer, or a hop count (which Fastify cannot check against the peer), is refused.
    ["FIREBRICK_TRUST_PROXY", "true"],
    ["FIREBRICK_TRUST_PROXY", "1"],
    ["FIREBRICK_TRUST_PROXY", "10.0.0.0/33"],
    ["FIREBRICK_TRUST_PROXY", "10.0.0.0/8/1"],
    ["FIREBRICK_TRUST_PROXY", "load-balancer.internal"],
    ["FIREBRICK_TRUST_PROXY", "10.0.0.1,"],
  ])("rejects %s=%j with an error that names the key", (key, value) => {
    const error = catchError(() => loadConfig({ [key]: value }));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe(key);
    expect((error as ConfigError).message).toContain(key);
    expect((error as ConfigError).message).toContain(JSON.stringify(value));
  });

  it("treats an unknown key under Firebrick's prefixes as a typo, not a default", () => {
    const error = catchError(() => loadConfig({ FIREBRICK_DATADIR: "/tmp" }));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe("FIREBRICK_DATADIR");
    expect(() => loadConfig({ USE_FIRESTORE_SESSIONS: "1" })).toThrow(ConfigError);
  });

  it("ignores variables that are not Firebrick's", () => {
    expect(() => loadConfig({ PATH: "/bin", HOME: "/root", NODE_ENV: "production" })).not.toThrow();
  });

  it("refuses two different project ids under the alias pair", () => {
    expect(() => loadConfig({ GOOGLE_CLOUD_PROJECT: "proj-one", GCP_PROJECT_ID: "proj-two" })).toThrow(
      /GCP_PROJECT_ID/,
    );
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}
