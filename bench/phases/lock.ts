import { spawn } from "node:child_process";
import type { Phase } from "../lib/context.js";

/**
 * The lock library's own bench (packages/lock/bench/lock.bench.ts), run as a child on a private
 * emulator: it alternates the raw SDK floor and the library round by round (order flipped every round),
 * reporting the median of the paired ratios with their range.
 */
export const lockPhase: Phase = {
  name: "lock",
  title: "@firebrick/lock vs the raw SDK floor, and a contended key (its own emulator)",
  async run(bench) {
    // A private emulator: the lock bench contends, and must neither disturb nor be disturbed by the others.
    const { startFirestoreEmulator } = await import("../../packages/server/src/firestore/emulator.js");
    const emulator = await startFirestoreEmulator();
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ["--import", "tsx", "packages/lock/bench/lock.bench.ts"], {
        cwd: bench.root,
        env: {
          ...process.env,
          FIRESTORE_EMULATOR_HOST: emulator.hostPort,
          // Lets the bench count the emulator's CPU per cycle (/proc) beside its own.
          BENCH_EMULATOR_PID: String(emulator.process.pid ?? ""),
          // Four sides a round (sequential and 16 in flight, floor and library): shorter rounds.
          BENCH_SECONDS: process.env.BENCH_LOCK_SECONDS ?? String(Math.min(bench.seconds, 1.5)),
          BENCH_ROUNDS: String(bench.rounds),
        },
        stdio: ["ignore", "pipe", "inherit"],
      });
      let text = "";
      child.stdout.on("data", (chunk: Buffer) => {
        text += chunk.toString();
      });
      child.once("exit", (code) =>
        code === 0 ? resolve(text) : reject(new Error(`lock bench: exit ${code}`)),
      );
    }).finally(() => emulator.stop());
    const parallel =
      /16 in flight\s+floor ([\d.]+)\s+lock ([\d.]+)\s+ratio ([\d.]+) \[([\d.]+)-([\d.]+)\]/.exec(output);
    const contended = /contended key\s+([\d.]+) acquisitions\/s, p95 of a failed attempt ([\d.]+) ms/.exec(
      output,
    );
    if (!parallel || !contended) throw new Error(`lock bench output not understood:\n${output}`);
    const ratio = Number(parallel[3]);
    const p95 = Number(contended[2]);
    const cpu =
      /cpu per cycle, 16 in flight[^\n]*?floor ([\d.+]+) ms\s+lock ([\d.+]+) ms\s+ratio ([\d.]+) \[([\d.]+)-([\d.]+)\]/.exec(
        output,
      );
    const cpuRow = cpu
      ? [
          {
            what: "CPU per lock cycle, 16 in flight (bench process + emulator)",
            measured: `${cpu[2]} ms`,
            baseline: `raw SDK floor ${cpu[1]} ms`,
            ratio: `${Number(cpu[3]).toFixed(2)}× [${cpu[4]}–${cpu[5]}] (floor/lock)`,
            target: "—",
            met: null,
          },
        ]
      : [];
    return [
      {
        what: "lock acquire+release, 16 in flight, distinct keys",
        measured: `${parallel[2]} cycles/s`,
        baseline: `raw SDK floor ${parallel[1]} cycles/s`,
        ratio: `${ratio.toFixed(2)}× [${parallel[4]}–${parallel[5]}]`,
        target: "≥ 0.8×",
        met: ratio >= 0.8,
      },
      ...cpuRow,
      {
        what: "lock, 8 workers on 1 key: p95 of a failed attempt",
        measured: `${p95.toFixed(1)} ms`,
        baseline: "—",
        ratio: "—",
        target: "≤ 50 ms",
        met: p95 <= 50,
      },
    ];
  },
};
