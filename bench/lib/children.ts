import { type ChildProcess, fork, spawn } from "node:child_process";
import { join } from "node:path";
import { processCpuSeconds } from "../server-process.js";
import type { BenchContext } from "./context.js";

/** A bench process of its own (a baseline), run from bench/children/ through tsx. */
export interface Child {
  child: ChildProcess;
  cpuSeconds(): number;
}

/**
 * The bare Fastify floor (bench/children/fastify-floor.mjs) in a process of its own: the same route and
 * JSON bodies as the service's telemetry writes, answered 202 with nothing else done. Stopped at the end
 * of the run.
 */
export async function startFastifyFloor(bench: BenchContext): Promise<Child & { url: string }> {
  const child = spawn(process.execPath, [join(bench.root, "bench/children/fastify-floor.mjs")], {
    cwd: bench.root,
    stdio: ["ignore", "pipe", "inherit"],
  });
  bench.defer(() => child.kill());
  const url = await new Promise<string>((resolve, reject) => {
    let text = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const line = /^(http:\/\/\S+)\n/m.exec(text);
      if (line) resolve(line[1]!);
    });
    child.once("exit", (code) => reject(new Error(`fastify floor exited (${code})`)));
  });
  return { child, url, cpuSeconds: () => processCpuSeconds(child.pid!) };
}

/**
 * A child over IPC (`fork`): `request(message)` sends one message and resolves with the child's next
 * answer. Killed at the end of the run.
 */
export async function forkChild<Out>(
  bench: BenchContext,
  script: string,
): Promise<Child & { request(message: unknown): Promise<Out> }> {
  const child = fork(join(bench.root, script), [], {
    cwd: bench.root,
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  bench.defer(() => child.kill());
  await new Promise<void>((resolve, reject) => {
    child.once("message", () => resolve());
    child.once("exit", (code) => reject(new Error(`${script} exited (${code})`)));
  });
  return {
    child,
    cpuSeconds: () => processCpuSeconds(child.pid!),
    request: (message) =>
      new Promise<Out>((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`${script} exited (${code})`));
        child.once("exit", onExit);
        child.once("message", (answer) => {
          child.off("exit", onExit);
          resolve(answer as Out);
        });
        child.send(message as object);
      }),
  };
}
