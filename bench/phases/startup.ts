import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { freePort } from "../../packages/server/src/firestore/emulator.js";
import type { Phase } from "../lib/context.js";
import { ratio, withRange } from "../lib/figure.js";
import { alternate, over, paired } from "../lib/paired.js";
import { startServerProcess } from "../server-process.js";

const POLL_MS = 5;

/** Milliseconds from spawning the bare Fastify floor to its first answered /healthz. */
async function floorStartMs(root: string): Promise<number> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(root, "bench/children/fastify-floor.mjs")], {
    env: { PATH: process.env.PATH, PORT: String(port) },
    stdio: "ignore",
  });
  try {
    for (;;) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return performance.now() - t0;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    child.kill();
  }
}

/** Milliseconds a process takes from spawn to exit. */
function runMs(args: string[]): number {
  const t0 = performance.now();
  const result = spawnSync(process.execPath, args, { stdio: "ignore" });
  if (result.status !== 0) throw new Error(`${args.join(" ")}: exit ${result.status}`);
  return performance.now() - t0;
}

/**
 * Start-up: `firebrick serve` on the embedded default (SQLite, an existing data dir: not a first run,
 * which also hashes the generated admin password) to its first answered /healthz, against a bare Fastify
 * server (bench/children/fastify-floor.mjs) doing the same; and `firebrick --help` against `node -e 0`.
 */
export const startupPhase: Phase = {
  name: "startup",
  title: "firebrick serve (SQLite) to first /healthz vs bare Fastify; firebrick --help",
  async run(bench) {
    const dataDir = bench.tempDir("startup");
    await (await startServerProcess({ dataDir })).stop(); // the first run, unmeasured
    const serve = await alternate(
      {
        floor: () => floorStartMs(bench.root),
        serve: async () => {
          const server = await startServerProcess({ dataDir, pollMs: POLL_MS });
          await server.stop();
          return server.startMs;
        },
      },
      { rounds: bench.rounds, warmup: 1 },
    );
    const cli = join(bench.root, "packages/server/bin/firebrick.js");
    const help = await alternate(
      { node: async () => runMs(["-e", "0"]), help: async () => runMs([cli, "--help"]) },
      { rounds: bench.rounds, warmup: 1 },
    );
    const ms = (value: number) => value;
    const helpMs = over(help.help, ms);
    return [
      {
        what: "firebrick serve (SQLite) from spawn to first /healthz",
        measured: withRange(over(serve.serve, ms), "ms"),
        baseline: `bare Fastify ${withRange(over(serve.floor, ms), "ms")}`,
        ratio: ratio(paired(serve.serve, serve.floor, ms)),
        target: "(measured)",
        met: null,
      },
      {
        what: "firebrick --help, spawn to exit",
        measured: withRange(helpMs, "ms"),
        baseline: `node -e 0 ${withRange(over(help.node, ms), "ms")}`,
        ratio: ratio(paired(help.help, help.node, ms)),
        target: "≤ 500 ms",
        met: helpMs.median <= 500,
      },
    ];
  },
};
