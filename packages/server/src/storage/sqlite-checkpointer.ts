import { createRequire } from "node:module";

import { Worker } from "node:worker_threads";
import type { SqliteDatabase } from "./sqlite.js";

export interface WalCheckpointerOptions {
  /** How often the worker checkpoints what was committed meanwhile (default 200 ms). */
  intervalMs?: number;
  /**
   * WAL frames (pages) after which the WAL is restarted from its beginning (default 8192, 32 MiB at
   * 4 KiB pages): SQLite restarts it only when a write begins with every frame checkpointed, which a
   * steady stream of writes never leaves time for, so writes are held back (`hold`) for one last pass.
   */
  restartFrames?: number;
  /** Holds this process's writes back until the returned function is called (the group commit's `pause`). */
  hold?: () => () => void;
  /** Writes are held at most this long, even if the last pass has not finished (default 100 ms). */
  maxHoldMs?: number;
  /** Called when a checkpoint fails (other than busy: another process's checkpoint is running). */
  onError?: (error: Error) => void;
}

export interface WalCheckpointer {
  /** Checkpoints run, frames copied into the database file, WAL restarts forced. */
  readonly stats: { checkpoints: number; frames: number; restarts: number };
  stop(): Promise<void>;
}

/** A pass that found at most this many new frames leaves a short one for the held pass. */
const CAUGHT_UP_FRAMES = 32;

interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
  error?: string;
}

// The worker is plain CommonJS passed as a string, so that it runs the same from the TypeScript sources
// (tests, bench) and from the build; it loads better-sqlite3 by the path the main thread resolved.
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
// A checkpoint syncs by its own connection's setting: NORMAL syncs the WAL before copying it and the
// database file after, which is what makes a copied frame safe to overwrite.
db.pragma("synchronous = NORMAL");
parentPort.on("message", (message) => {
  if (message === "close") {
    db.close();
    parentPort.close();
    return;
  }
  try {
    parentPort.postMessage(db.pragma("wal_checkpoint(PASSIVE)")[0]);
  } catch (error) {
    parentPort.postMessage({ busy: 1, log: 0, checkpointed: 0, error: String(error && error.message) });
  }
});
`;

/**
 * Moves WAL checkpoints off the request path. By default SQLite checkpoints inside the commit that
 * crosses 1,000 WAL pages: that commit copies the pages into the database file and syncs both files
 * on the event loop, and every request waits (tens to hundreds of ms on a busy disk). Here a worker
 * thread with its own connection checkpoints (`PASSIVE`: it never blocks writers) every `intervalMs`,
 * and the main connection's automatic checkpoint is only a safety net at 4 × `restartFrames`, for
 * when the worker cannot keep up or another process keeps the WAL from restarting.
 *
 * Durability is unchanged: a commit is acknowledged once it is in the WAL, as before (synchronous =
 * NORMAL); only who copies it into the database file later, and on which thread, changes.
 *
 * @example
 * const checkpointer = startWalCheckpointer(db, { hold: () => commits.pause() });
 * // …
 * await checkpointer.stop();
 */
export function startWalCheckpointer(
  db: SqliteDatabase,
  options: WalCheckpointerOptions = {},
): WalCheckpointer {
  const restartFrames = options.restartFrames ?? 8192;
  const stats = { checkpoints: 0, frames: 0, restarts: 0 };
  // An in-memory database has no WAL and no file a second connection could open.
  if (db.memory) return { stats, stop: async () => {} };
  db.pragma(`wal_autocheckpoint = ${4 * restartFrames}`);
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { file: db.name, driver: createRequire(import.meta.url).resolve("better-sqlite3") },
  });
  worker.unref();
  let pending: ((result: CheckpointResult) => void) | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  worker.on("message", (result: CheckpointResult) => {
    const settle = pending;
    pending = null;
    settle?.(result);
  });
  worker.on("error", (error) => options.onError?.(error));
  const exited = new Promise<void>((resolve) =>
    worker.once("exit", () => {
      pending?.({ busy: 1, log: 0, checkpointed: 0, error: "the checkpoint worker exited" });
      pending = null;
      stopped = true;
      clearInterval(timer);
      resolve();
    }),
  );

  const checkpoint = () =>
    new Promise<CheckpointResult>((resolve) => {
      pending = resolve;
      worker.postMessage("checkpoint");
    });

  async function tick(): Promise<void> {
    let result = await checkpoint();
    stats.checkpoints += 1;
    if (result.error) {
      // Busy: another connection (another process sharing the file) is checkpointing; next time.
      if (!/busy|locked/i.test(result.error)) options.onError?.(new Error(result.error));
      return;
    }
    stats.frames += Math.max(0, result.checkpointed);
    if (result.log < restartFrames || !options.hold || stopped) return;
    // The WAL is long and writes keep coming: hold them for one last pass, so that the next write
    // begins with every frame checkpointed and SQLite starts the WAL over from its beginning. First
    // catch up without holding anything, until a pass finds little written while it ran, so that the
    // held pass is short.
    for (let pass = 0; pass < 8; pass++) {
      const before = result.log;
      result = await checkpoint();
      if (result.error || result.log - before <= CAUGHT_UP_FRAMES) break;
    }
    if (result.error || stopped) return;
    const release = options.hold();
    // A slow disk must not hold writes for long: past maxHoldMs they go on, and the WAL restarts later.
    const deadline = setTimeout(release, options.maxHoldMs ?? 100);
    try {
      const last = await checkpoint();
      if (!last.error && last.checkpointed === last.log) stats.restarts += 1;
    } finally {
      clearTimeout(deadline);
      release();
    }
  }

  let running: Promise<void> | null = null;
  timer = setInterval(() => {
    if (running || stopped) return;
    running = tick()
      .catch((error: Error) => options.onError?.(error))
      .finally(() => {
        running = null;
      });
  }, options.intervalMs ?? 200);
  timer.unref();

  return {
    stats,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      // Unreferenced, the worker would not keep the process alive while stop() waits for it.
      worker.ref();
      await running;
      worker.postMessage("close");
      await exited;
    },
  };
}
