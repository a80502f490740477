import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";

/** Where the gcloud SDK installs Google's official Firestore emulator. */
export const DEFAULT_EMULATOR_JAR =
  "/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar";

const MAIN_CLASS = "com.google.cloud.datastore.emulator.firestore.CloudFirestore";

/** Java or the emulator jar is missing: the message is one line that names what and where. */
export class EmulatorUnavailableError extends Error {
  override name = "EmulatorUnavailableError";
}

export interface EmulatorLocation {
  java: string;
  jar: string;
}

/**
 * Finds Java and the emulator jar, or throws an `EmulatorUnavailableError` naming the missing one.
 * The caller passes what its configuration says (`JAVA`, `FIRESTORE_EMULATOR_JAR`); `java` on the PATH
 * and the gcloud installation's jar otherwise.
 *
 * @example
 * const location = locateEmulator(config.localEmulator);
 */
export function locateEmulator(
  tools: { java?: string | undefined; jar?: string | undefined } = {},
): EmulatorLocation {
  const java = tools.java ?? "java";
  const jar = tools.jar ?? DEFAULT_EMULATOR_JAR;
  const probe = spawnSync(java, ["-version"], { stdio: "ignore" });
  if (probe.error || probe.status !== 0) {
    throw new EmulatorUnavailableError(
      `Java is missing: '${java}' could not be run (install Java 17, e.g. apt-get install -y openjdk-17-jre-headless, or set JAVA)`,
    );
  }
  if (!existsSync(jar)) {
    throw new EmulatorUnavailableError(
      `Firestore emulator jar is missing: ${jar} does not exist (install the gcloud component cloud-firestore-emulator, or set FIRESTORE_EMULATOR_JAR)`,
    );
  }
  return { java, jar };
}

/** Asks the kernel for a free TCP port on `host`. */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject()));
    });
  });
}

export interface RunningEmulator {
  /** `host:port`, the value for `FIRESTORE_EMULATOR_HOST`. */
  readonly hostPort: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

export interface StartEmulatorOptions {
  host?: string;
  port?: number;
  location?: EmulatorLocation;
  /** Extra emulator flags, e.g. `--import-data=DIR`, `--export-on-exit=DIR`. */
  extraArgs?: string[];
  readyTimeoutMs?: number;
  /**
   * Runs the JVM in a process group of its own. A terminal's Ctrl-C sends SIGINT to its whole foreground
   * group, and the JVM exits on it at once: an emulator whose data its parent exports on shutdown
   * (`serve --emulator`) must be stopped by that parent, after the export, not by the terminal.
   */
  ownProcessGroup?: boolean;
}

/**
 * Starts the emulator and resolves once it answers HTTP.
 *
 * @example
 * const emulator = await startFirestoreEmulator();
 * const db = new Firestore({ projectId: "demo-firebrick", host: emulator.hostPort, ssl: false });
 * // ...
 * await emulator.stop();
 */
export async function startFirestoreEmulator(options: StartEmulatorOptions = {}): Promise<RunningEmulator> {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? (await freePort(host));
  const { java, jar } = options.location ?? locateEmulator();
  const child = spawn(
    java,
    ["-cp", jar, MAIN_CLASS, "start", `--host=${host}`, `--port=${port}`, ...(options.extraArgs ?? [])],
    { stdio: ["ignore", "pipe", "pipe"], detached: options.ownProcessGroup ?? false },
  );
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const hostPort = `${host}:${port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  while (!(await answers(hostPort))) {
    if (exitCode !== undefined) {
      throw new Error(
        `Firestore emulator exited with code ${exitCode} before it was ready: ${lastLine(output)}`,
      );
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`Firestore emulator did not answer on ${hostPort} in time: ${lastLine(output)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    hostPort,
    process: child,
    async stop() {
      if (exitCode !== undefined) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function answers(hostPort: string): Promise<boolean> {
  try {
    const response = await fetch(`http://${hostPort}/`, { signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split("\n")
      .filter((line) => line.trim())
      .at(-1) ?? "(no output)"
  );
}
