// The service as operators run it (`firebrick serve`, the compiled CLI) in a child process of its own, so
// that the load generator and the server do not share an event loop, and the server's RSS can be sampled.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { freePort } from "../packages/server/src/firestore/emulator.js";

const CLI = fileURLToPath(new URL("../packages/server/bin/firebrick.js", import.meta.url));
/** Where `BENCH_PROFILE=1` makes the servers write their CPU profiles (`--cpu-prof`). */
export const PROFILE_DIR = fileURLToPath(new URL("./out/profiles", import.meta.url));
export const TENANT = "demo";
export const HEADER = "x-bas-tenant";
/**
 * Every bench request's user agent: a session is bound to its browser family (docs/design/sessions.md), so requests that
 * reuse a session cookie (autocannon's too) must present the agent it was signed in with.
 */
export const USER_AGENT = "firebrick-bench";

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** The generated admin password of a first run (null when the store was not empty). */
  adminPassword: string | null;
  /** Resident set size now and its high-water mark, in bytes (Linux /proc). */
  memory(): { rss: number; peak: number };
  /** CPU time the process has used so far (user + system), in seconds (Linux /proc). */
  cpuSeconds(): number;
  /** Milliseconds from spawning the process to its first answered `/healthz`. */
  startMs: number;
  stop(): Promise<void>;
}

export interface ServerEnv {
  dataDir: string;
  /** Every area on Firestore, on this emulator and project; without it every area is on SQLite. */
  firestore?: { emulatorHost: string; projectId: string };
  deviceWritesPerMinute?: number;
  /** Extra `node` flags, e.g. `--cpu-prof` (see `BENCH_PROFILE` in bench/README.md). */
  nodeArgs?: string[];
  /** How often to ask /healthz while it starts (default 100 ms; the start-up phase asks more often). */
  pollMs?: number;
}

/**
 * Starts `firebrick serve` (every area on Firestore when `env.firestore` is given, on SQLite otherwise)
 * and resolves once /healthz answers.
 */
export async function startServerProcess(env: ServerEnv): Promise<ServerProcess> {
  const port = await freePort();
  const profile = process.env.BENCH_PROFILE ? [`--cpu-prof`, `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [...profile, ...(env.nodeArgs ?? []), CLI, "serve"], {
    env: {
      PATH: process.env.PATH,
      METADATA_SERVER_DETECTION: "none",
      FIREBRICK_DATA_DIR: env.dataDir,
      ...(env.firestore && {
        FIRESTORE_EMULATOR_HOST: env.firestore.emulatorHost,
        GOOGLE_CLOUD_PROJECT: env.firestore.projectId,
        USE_FIRESTORE_TELEMETRY: "1",
        USE_FIRESTORE_AUDIT: "1",
        USE_FIRESTORE_AUTH: "1",
      }),
      DEVICE_WRITES_PER_MINUTE: String(env.deviceWritesPerMinute ?? 5),
      // Request logs at info would measure the log pipe as much as the service.
      FIREBRICK_LOG_LEVEL: "warn",
      PORT: String(port),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout?.resume();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`firebrick serve exited: ${stderr.trim()}`);
    if (Date.now() > deadline) throw new Error(`firebrick serve did not answer: ${stderr.trim()}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, env.pollMs ?? 100));
  }
  const startMs = performance.now() - spawnedAt;
  const password = /Password \(shown once[^)]*\): (\S+)/.exec(stderr)?.[1] ?? null;
  return {
    url,
    child,
    adminPassword: password,
    startMs,
    cpuSeconds: () => processCpuSeconds(child.pid!),
    memory() {
      const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
      const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
      return { rss: kib("VmRSS") * 1024, peak: kib("VmHWM") * 1024 };
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** User + system CPU seconds of a process so far, from `/proc/PID/stat` (clock ticks of 1/100 s). */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces, inside parentheses): utime is the 14th field.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Signs in and returns the `Cookie` header value of the new session. */
export async function login(url: string, username: string, password: string): Promise<string> {
  const response = await fetch(`${url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json", "user-agent": USER_AGENT, [HEADER]: TENANT },
    body: JSON.stringify({ username, password }),
  });
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${await response.text()}`);
  const cookie = response.headers.getSetCookie().find((value) => value.startsWith("firebrick_session="));
  return cookie!.split(";", 1)[0]!;
}

/** A JSON call under the demo tenant; throws on an unexpected status. */
export async function call(
  url: string,
  method: string,
  path: string,
  options: { cookie?: string; bearer?: string; body?: unknown; expect?: number } = {},
): Promise<unknown> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      [HEADER]: TENANT,
      "user-agent": USER_AGENT,
      ...(options.body !== undefined && { "content-type": "application/json" }),
      ...(options.cookie && { cookie: options.cookie }),
      ...(options.bearer && { authorization: `Bearer ${options.bearer}` }),
    },
    ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  if (response.status !== (options.expect ?? 200)) {
    throw new Error(`${method} ${path}: ${response.status} ${text}`);
  }
  return text ? JSON.parse(text) : null;
}
