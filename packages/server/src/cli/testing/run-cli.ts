import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The CLI's entry point from source (run with `node --import tsx`). */
export const cliEntry = fileURLToPath(new URL("../run.ts", import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  stdin?: string;
  /** More options for node itself, e.g. `["--import", hooks]`. */
  nodeOptions?: string[];
  /** In a process group of its own (led by the CLI), as a shell starts a foreground job. */
  ownProcessGroup?: boolean;
}

/** Spawns the `firebrick` CLI from source (through tsx), as an operator would run it. */
export function spawnCli(args: string[], options: CliOptions = {}) {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    [...(options.nodeOptions ?? []), "--import", "tsx", cliEntry, ...args],
    { env: { ...process.env, ...options.env }, detached: options.ownProcessGroup ?? false },
  );
  if (options.stdin !== undefined) child.stdin.end(options.stdin);
  else child.stdin.end();
  return child;
}

/** Runs the CLI to completion and collects its output. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return collectOutput(spawnCli(args, options));
}

/** A child process's exit code and all it printed, once it has closed. */
export function collectOutput(child: {
  stdout: NodeJS.ReadableStream;
  stderr: NodeJS.ReadableStream;
  on(event: "close", listener: (code: number | null) => void): unknown;
}): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}
