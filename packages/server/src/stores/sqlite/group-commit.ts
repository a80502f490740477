import type { SqliteDatabase } from "../../storage/sqlite.js";
import { StoreUnavailableError } from "../types.js";
import { translateSqliteError } from "./context.js";

export interface SqliteGroupCommitOptions {
  /** Rows per shared transaction; a longer queue commits over several turns of the event loop. */
  maxRowsPerCommit?: number;
  /** Rows allowed to wait; beyond this, writes are refused at once (back-pressure, HTTP 503). */
  maxQueuedRows?: number;
  /** Called after each transaction that commits, with its rows and the callers that shared it. */
  onCommit?: (rows: number, callers: number) => void;
}

interface Entry {
  /** Runs the caller's statements; called inside a transaction. */
  write(): void;
  rows: number;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Group commit for SQLite: the writes of every caller that arrives within one turn of the event loop
 * share one transaction, committed on the next turn (`setImmediate`). Under load a commit (its WAL
 * frames, its page writes) is paid once for many requests instead of once each; when idle, a write
 * waits for nothing but that one turn.
 *
 * - Each caller's writes are all-or-nothing, as if committed alone, and its promise settles when its
 *   transaction has committed: what is acknowledged is in the WAL.
 * - Writes are applied in the order `write` was called, across and within transactions, so a later
 *   rewrite of the same row lands last (the same rule as the Firestore group commit,
 *   stores/firestore/group-commit.ts, which must wait for commits in flight; here a commit is
 *   synchronous, so the queue order is the commit order).
 * - A shared transaction that fails may have failed for one caller's rows (a constraint): each caller is
 *   then committed on its own, so that only the culprit sees the error. A busy database fails them all.
 * - `pause()` holds commits back (the WAL checkpointer uses it to restart the WAL, storage/sqlite-checkpointer.ts).
 */
export class SqliteGroupCommit {
  readonly #maxRowsPerCommit: number;
  readonly #maxQueuedRows: number;
  readonly #queue: Entry[] = [];
  readonly #commitTogether: (entries: Entry[]) => void;
  readonly #onCommit: ((rows: number, callers: number) => void) | undefined;
  #queuedRows = 0;
  #scheduled = false;
  #holds = 0;

  constructor(db: SqliteDatabase, options: SqliteGroupCommitOptions = {}) {
    this.#maxRowsPerCommit = options.maxRowsPerCommit ?? 1000;
    this.#maxQueuedRows = options.maxQueuedRows ?? 50_000;
    this.#onCommit = options.onCommit;
    this.#commitTogether = db.transaction((entries: Entry[]) => {
      for (const entry of entries) entry.write();
    }).immediate;
  }

  /** Rows waiting for a commit. */
  get queuedRows(): number {
    return this.#queuedRows;
  }

  /**
   * Runs `write` (synchronous statements on this database, `rows` of them) in a transaction, possibly
   * shared with other callers' writes, and resolves once that transaction has committed.
   */
  write(rows: number, write: () => void): Promise<void> {
    if (this.#queuedRows + rows > this.#maxQueuedRows && this.#queue.length > 0) {
      return Promise.reject(new StoreUnavailableError("SQLite is not keeping up with writes; retry later"));
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ write, rows, resolve, reject });
      this.#queuedRows += rows;
      this.#schedule();
    });
  }

  /** Holds commits back until the returned function is called; writes queue meanwhile. */
  pause(): () => void {
    this.#holds += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#holds -= 1;
      this.#schedule();
    };
  }

  #schedule(): void {
    if (this.#scheduled || this.#holds > 0 || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#holds > 0) return;
      this.#commitGroup(this.#takeGroup());
      this.#schedule();
    });
  }

  /** The oldest callers whose rows fit one transaction (always at least one). */
  #takeGroup(): Entry[] {
    let rows = 0;
    let count = 0;
    for (const entry of this.#queue) {
      if (count > 0 && rows + entry.rows > this.#maxRowsPerCommit) break;
      rows += entry.rows;
      count += 1;
    }
    this.#queuedRows -= rows;
    return this.#queue.splice(0, count);
  }

  #commitGroup(group: Entry[]): void {
    try {
      this.#commitTogether(group);
    } catch (error) {
      const translated = translateSqliteError(error, "already exists");
      if (group.length === 1 || translated instanceof StoreUnavailableError) {
        for (const entry of group) entry.reject(translated);
        return;
      }
      for (const entry of group) this.#commitGroup([entry]);
      return;
    }
    this.#onCommit?.(
      group.reduce((rows, entry) => rows + entry.rows, 0),
      group.length,
    );
    for (const entry of group) entry.resolve();
  }
}
