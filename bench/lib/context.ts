import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Firestore } from "@google-cloud/firestore";
import type { RunningEmulator } from "../../packages/server/src/firestore/emulator.js";
import type { Figure } from "./figure.js";

/** What a phase gets from the runner: settings, scratch space and the shared emulator. */
export interface BenchContext {
  /** The repository root. */
  root: string;
  /** Seconds per side per round of a timed comparison (`BENCH_SECONDS`, default 2). */
  seconds: number;
  /** Measured rounds of a comparison (`BENCH_ROUNDS`, default 5); see lib/paired.ts. */
  rounds: number;
  /** A progress line on stderr, stamped with the time since the run started. */
  log(text: string): void;
  /** A fresh directory under the system temp dir, removed at the end of the run. */
  tempDir(label: string): string;
  /** A fresh Firestore project id: an emptied project gets slower, a fresh one does not (docs/design/testing.md). */
  projectId(label: string): string;
  /** The run's Firestore emulator, started on first use (phases on SQLite never start it). */
  emulator(): Promise<RunningEmulator>;
  /** An SDK client on the run's emulator, terminated at the end of the run. */
  firestore(projectId: string): Promise<Firestore>;
  /** Runs `cleanup` at the end of the run (in reverse order), even when a phase failed. */
  defer(cleanup: () => unknown): void;
}

/** A part of `npm run bench`: one file under bench/phases/, listed in bench/phases/index.ts. */
export interface Phase {
  /** The name `BENCH_PHASES` selects it by, e.g. "sqlite-ingest". */
  name: string;
  /** One line for the progress log and `BENCH_PHASES=list`. */
  title: string;
  run(bench: BenchContext): Promise<Figure[]>;
}

export function createContext(started: number): BenchContext & { close(): Promise<void> } {
  const cleanups: Array<() => unknown> = [];
  let emulator: Promise<RunningEmulator> | undefined;
  const log = (text: string) =>
    process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${text}\n`);
  const context: BenchContext & { close(): Promise<void> } = {
    root: fileURLToPath(new URL("../..", import.meta.url)),
    seconds: Number(process.env.BENCH_SECONDS ?? 2),
    rounds: Number(process.env.BENCH_ROUNDS ?? 5),
    log,
    tempDir(label) {
      const dir = mkdtempSync(join(tmpdir(), `firebrick-bench-${label}-`));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      return dir;
    },
    projectId: (label) => `bench-${label}-${randomBytes(4).toString("hex")}`,
    emulator() {
      emulator ??= (async () => {
        process.env.METADATA_SERVER_DETECTION = "none";
        const { startFirestoreEmulator } = await import("../../packages/server/src/firestore/emulator.js");
        log("starting the Firestore emulator…");
        const running = await startFirestoreEmulator();
        cleanups.push(() => running.stop());
        return running;
      })();
      return emulator;
    },
    async firestore(projectId) {
      const [host, port] = (await context.emulator()).hostPort.split(":") as [string, string];
      const { Firestore } = await import("@google-cloud/firestore");
      const db = new Firestore({ projectId, host, port: Number(port), ssl: false });
      cleanups.push(() => db.terminate());
      return db;
    },
    defer(cleanup) {
      cleanups.push(cleanup);
    },
    async close() {
      for (const cleanup of cleanups.reverse()) {
        try {
          await cleanup();
        } catch (error) {
          log(`cleanup failed: ${(error as Error).message}`);
        }
      }
    },
  };
  return context;
}
