import { classifyFirestoreFailure } from "@firebrick/lock/firestore";
import type {
  DocumentData,
  DocumentReference,
  FieldPath,
  Firestore,
  Precondition,
  Timestamp,
  WriteBatch,
} from "@google-cloud/firestore";
import { StoreUnavailableError } from "../types.js";

/** One document to set (create or replace). */
export interface BlindWrite {
  ref: DocumentReference;
  data: DocumentData;
}

/**
 * One write of a commit: a blind set (the default), a create (fails with ALREADY_EXISTS when the
 * document exists), an update of some fields (by `FieldPath`, so that any metric name is a safe field
 * name) or a delete, the last two optionally conditional on the document's update time.
 */
export type DocumentWrite =
  | { op?: "set"; ref: DocumentReference; data: DocumentData; merge?: boolean }
  | { op: "create"; ref: DocumentReference; data: DocumentData }
  | {
      op: "update";
      ref: DocumentReference;
      fields: ReadonlyArray<readonly [FieldPath, unknown]>;
      lastUpdateTime?: Timestamp;
    }
  | { op: "delete"; ref: DocumentReference; lastUpdateTime?: Timestamp };

/** Adds one write to a batch. */
export function addToBatch(batch: WriteBatch, write: DocumentWrite): void {
  switch (write.op) {
    case undefined:
    case "set":
      batch.set(write.ref, write.data, { merge: write.merge ?? false });
      return;
    case "create":
      batch.create(write.ref, write.data);
      return;
    case "update": {
      const [first, ...more] = write.fields;
      if (!first) throw new RangeError("an update needs at least one field");
      const precondition: Precondition[] = write.lastUpdateTime
        ? [{ lastUpdateTime: write.lastUpdateTime }]
        : [];
      batch.update(write.ref, first[0], first[1], ...more.flat(), ...precondition);
      return;
    }
    case "delete":
      batch.delete(write.ref, write.lastUpdateTime ? { lastUpdateTime: write.lastUpdateTime } : {});
      return;
  }
}

export interface GroupCommitOptions {
  /** Writes per commit; Firestore takes at most 500. */
  maxWrites?: number;
  /** Commits in flight at once; further writes wait and go out together in the next commit. */
  maxInFlight?: number;
  /** Writes allowed to wait; beyond this, writes are refused at once (back-pressure, HTTP 503). */
  maxQueuedWrites?: number;
  /** Called with the number of documents of each commit that succeeds (for metrics). */
  onCommit?: (documents: number) => void;
}

interface Entry {
  writes: DocumentWrite[];
  resolve(commitTime: Timestamp): void;
  reject(error: unknown): void;
}

/**
 * Group commit (docs/design/telemetry.md): while `maxInFlight` commits are out, the
 * writes of later callers wait and then share one commit (at most `maxWrites` documents). Under load,
 * ten devices' points cost one Commit RPC instead of ten; when idle, a write goes out at once, so nothing
 * waits for a timer.
 *
 * - Each caller's writes stay together in one commit: what one caller writes is all-or-nothing, as if
 *   it had committed alone, and its promise settles when that commit does.
 * - Firestore refuses two writes to one document in a commit, and two commits in flight may land in
 *   either order: a caller whose writes touch a document already in the group, or in a commit still
 *   out, waits (and those behind it) until that commit is done. The later write lands last.
 * - A shared commit that fails for good (not an outage) may have failed for one caller's data: each
 *   caller is then committed on its own, so that only the culprit sees the error. Transient failures
 *   reach every caller, whose retries (stores/resilience.ts) queue again.
 */
export class GroupCommitter {
  readonly #db: Firestore;
  readonly #maxWrites: number;
  readonly #maxInFlight: number;
  readonly #maxQueuedWrites: number;
  readonly #onCommit: ((documents: number) => void) | undefined;
  readonly #queue: Entry[] = [];
  /** Documents written by the commits in flight. */
  readonly #inFlightPaths = new Set<string>();
  #queuedWrites = 0;
  #inFlight = 0;

  constructor(db: Firestore, options: GroupCommitOptions = {}) {
    this.#db = db;
    this.#maxWrites = options.maxWrites ?? 500;
    this.#maxInFlight = options.maxInFlight ?? 4;
    this.#maxQueuedWrites = options.maxQueuedWrites ?? 50 * this.#maxWrites;
    this.#onCommit = options.onCommit;
  }

  /** Documents waiting for a commit slot. */
  get queuedWrites(): number {
    return this.#queuedWrites;
  }

  /** Sets every document of `writes` in one commit, possibly shared with other callers' writes. */
  async set(writes: BlindWrite[]): Promise<void> {
    if (writes.length > 0) await this.commit(writes);
  }

  /**
   * Makes `writes` in one commit, possibly shared with other callers' writes, and resolves with that
   * commit's time (every document it wrote has this update time).
   */
  commit(writes: DocumentWrite[]): Promise<Timestamp> {
    if (writes.length === 0) return Promise.reject(new RangeError("a commit needs at least one write"));
    if (writes.length > this.#maxWrites) {
      return Promise.reject(new RangeError(`at most ${this.#maxWrites} writes commit together`));
    }
    if (this.#queuedWrites + writes.length > this.#maxQueuedWrites) {
      return Promise.reject(
        new StoreUnavailableError("Firestore is not keeping up with writes; retry later"),
      );
    }
    return new Promise<Timestamp>((resolve, reject) => {
      this.#queue.push({ writes, resolve, reject });
      this.#queuedWrites += writes.length;
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const group = this.#takeGroup();
      // The oldest caller rewrites a document of a commit still out; it goes when that one is done.
      if (group.length === 0) return;
      const paths = group.flatMap((entry) => entry.writes.map((write) => write.ref.path));
      for (const path of paths) this.#inFlightPaths.add(path);
      this.#inFlight += 1;
      void this.#commitGroup(group).finally(() => {
        for (const path of paths) this.#inFlightPaths.delete(path);
        this.#inFlight -= 1;
        this.#pump();
      });
    }
  }

  /** The longest run of queued callers, oldest first, that fits one commit and rewrites nothing in flight. */
  #takeGroup(): Entry[] {
    const group: Entry[] = [];
    const paths = new Set<string>();
    let size = 0;
    for (const entry of this.#queue) {
      if (size + entry.writes.length > this.#maxWrites) break;
      const busy = (path: string) => paths.has(path) || this.#inFlightPaths.has(path);
      if (entry.writes.some((write) => busy(write.ref.path))) break;
      group.push(entry);
      size += entry.writes.length;
      for (const write of entry.writes) paths.add(write.ref.path);
    }
    this.#queue.splice(0, group.length);
    this.#queuedWrites -= size;
    return group;
  }

  async #commitGroup(group: Entry[]): Promise<void> {
    try {
      const commitTime = await this.#commit(group.flatMap((entry) => entry.writes));
      for (const entry of group) entry.resolve(commitTime);
    } catch (error) {
      if (group.length === 1 || classifyFirestoreFailure(error).retry !== "never") {
        for (const entry of group) entry.reject(error);
        return;
      }
      await Promise.all(group.map((entry) => this.#commit(entry.writes).then(entry.resolve, entry.reject)));
    }
  }

  async #commit(writes: DocumentWrite[]): Promise<Timestamp> {
    const batch = this.#db.batch();
    for (const write of writes) addToBatch(batch, write);
    const results = await batch.commit();
    this.#onCommit?.(writes.length);
    return results[0]!.writeTime;
  }
}
