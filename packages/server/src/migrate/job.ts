/**
 * The migration job runner (docs/design/migration.md): every job (users, audit backfill, telemetry backfill)
 * is a sequence of chunks read after a cursor. The runner holds a lock so that two runs never overlap, saves
 * a fenced checkpoint after every chunk so that a killed run resumes where it stopped and a stale runner
 * cannot move the checkpoint, and counts what it read, wrote, skipped and refused.
 */

export interface JobCounts {
  read: number;
  written: number;
  skipped: number;
  refused: number;
  mismatched: number;
}

export const zeroCounts = (): JobCounts => ({ read: 0, written: 0, skipped: 0, refused: 0, mismatched: 0 });

export interface JobReport extends JobCounts {
  job: string;
  /** What `read` and `written` count (the job's `units`). */
  units: { read: string; written: string };
  dry_run: boolean;
  /** True when the run continued from a checkpoint left by an earlier run. */
  resumed: boolean;
  /** True when an earlier run had finished the job, so nothing was done. */
  already_complete: boolean;
  /** One line per refused or mismatched row, for the operator. */
  notes: string[];
}

export interface Checkpoint {
  cursor: unknown;
  counts: JobCounts;
  done: boolean;
  notes: string[];
}

/** Where checkpoints live. `save` must refuse (throw) when a newer fence has written the checkpoint. */
export interface CheckpointStore {
  load(job: string): Promise<Checkpoint | null>;
  save(job: string, checkpoint: Checkpoint, fence: string): Promise<void>;
  clear(job: string, fence: string): Promise<void>;
}

/** Runs `fn` while holding the job's lock; `fence` is the lock's fencing token. */
export type JobGuard = <T>(
  job: string,
  fn: (held: { fence: string; signal: AbortSignal }) => Promise<T>,
) => Promise<T>;

export interface Chunk<C> {
  items: unknown[];
  /** The cursor after this chunk. */
  cursor: C;
}

export interface JobSteps<C> {
  name: string;
  /**
   * What `read` and `written` count, plural ("points"): the progress display and the report name them,
   * so that "read 20, written 6720" cannot be misread.
   */
  units: { read: string; written: string };
  /** Reads the next chunk after `cursor` (`null`: from the start), or `null` when there is nothing left. */
  next(cursor: C | null): Promise<Chunk<C> | null>;
  /** Writes a chunk (or, in a dry run, only decides what it would write) and says what happened. */
  apply(
    items: unknown[],
    options: { dryRun: boolean; signal: AbortSignal },
  ): Promise<Partial<JobCounts> & { notes?: string[] }>;
}

/**
 * What a long job tells whoever watches it (the CLI's `jobProgress`: a bar, or plain lines). The runner
 * drives it for every job; a job outside the runner drives it itself.
 */
export interface Progress {
  /**
   * `total`: how many units the whole job reads, when known (then there is an ETA); `done`: how many an
   * earlier run had read already (a resumed job), not counted in this run's rate.
   */
  start(total?: number, done?: number): void;
  advance(units: number): void;
  stop(): void;
}

export const silentProgress: Progress = { start() {}, advance() {}, stop() {} };

export interface RunOptions {
  guard: JobGuard;
  checkpoints: CheckpointStore;
  dryRun?: boolean;
  /** Start over, ignoring a checkpoint (re-running is safe: writes are idempotent). */
  restart?: boolean;
  /** Shown progress; the runner then counts what is left to read first (a read-only pass), for an ETA. */
  progress?: Progress;
}

const MAX_NOTES = 200;

/** Runs a job to completion (or until it throws, leaving its last checkpoint for the next run). */
export async function runJob<C>(steps: JobSteps<C>, options: RunOptions): Promise<JobReport> {
  const dryRun = options.dryRun ?? false;
  const progress = options.progress ?? silentProgress;
  return options.guard(steps.name, async ({ fence, signal }) => {
    const previous = options.restart || dryRun ? null : await options.checkpoints.load(steps.name);
    const report: JobReport = {
      job: steps.name,
      units: steps.units,
      dry_run: dryRun,
      resumed: previous !== null && !previous.done,
      already_complete: previous?.done ?? false,
      ...(previous?.counts ?? zeroCounts()),
      notes: [...(previous?.notes ?? [])],
    };
    if (previous?.done) return report;

    let cursor = (previous?.cursor ?? null) as C | null;
    const total = options.progress ? report.read + (await countToRead(steps, cursor)) : undefined;
    progress.start(total, report.read);
    try {
      for (;;) {
        if (signal.aborted)
          throw new Error(`the lock on job ${steps.name} was lost; stopping (resume by running again)`);
        const chunk = await steps.next(cursor);
        if (!chunk) break;
        const outcome = await steps.apply(chunk.items, { dryRun, signal });
        report.read += chunk.items.length;
        for (const key of ["written", "skipped", "refused", "mismatched"] as const)
          report[key] += outcome[key] ?? 0;
        for (const note of outcome.notes ?? []) if (report.notes.length < MAX_NOTES) report.notes.push(note);
        cursor = chunk.cursor;
        if (!dryRun) await options.checkpoints.save(steps.name, checkpointOf(report, cursor, false), fence);
        progress.advance(chunk.items.length);
      }
      if (!dryRun) await options.checkpoints.save(steps.name, checkpointOf(report, cursor, true), fence);
      return report;
    } finally {
      progress.stop();
    }
  });
}

/**
 * How many items `next` yields from `cursor` to the end: one read-only pass over the source (a local SQLite
 * file, fast next to the budgeted writes), so that the progress display has a total and an ETA.
 */
async function countToRead<C>(steps: JobSteps<C>, from: C | null): Promise<number> {
  let count = 0;
  let cursor = from;
  for (;;) {
    const chunk = await steps.next(cursor);
    if (!chunk) return count;
    count += chunk.items.length;
    cursor = chunk.cursor;
  }
}

function checkpointOf(report: JobReport, cursor: unknown, done: boolean): Checkpoint {
  const { read, written, skipped, refused, mismatched } = report;
  return { cursor, counts: { read, written, skipped, refused, mismatched }, done, notes: report.notes };
}
