import type { DocumentSnapshot, Firestore } from "@google-cloud/firestore";
import { afterAll, describe, expect, it } from "vitest";
import { testFirestore } from "../../../../../test/firestore.js";
import { StoreUnavailableError } from "../types.js";
import { type BlindWrite, GroupCommitter } from "./group-commit.js";

const clients: Firestore[] = [];
afterAll(() => Promise.all(clients.map((db) => db.terminate())));

function setup(options: ConstructorParameters<typeof GroupCommitter>[1] = {}) {
  const db = testFirestore("group-commit");
  clients.push(db);
  const collection = db.collection("points");
  const writes = (caller: string, count: number, data: Record<string, unknown> = { caller }): BlindWrite[] =>
    Array.from({ length: count }, (_, i) => ({ ref: collection.doc(`${caller}-${i}`), data }));
  const read = async (ids: string[]): Promise<DocumentSnapshot[]> =>
    ids.length === 0 ? [] : db.getAll(...ids.map((id) => collection.doc(id)));
  return { db, collection, writes, read, committer: new GroupCommitter(db, options) };
}

/** Documents written by one commit share its commit time: the number of distinct update times counts commits. */
const commitTimes = (snapshots: DocumentSnapshot[]) =>
  new Set(
    snapshots.map((snapshot) => `${snapshot.updateTime?.toMillis()}:${snapshot.updateTime?.nanoseconds}`),
  );

describe("GroupCommitter (Firestore emulator)", () => {
  it("commits a lone caller's writes at once, in one commit", async () => {
    const { committer, writes, read } = setup();
    await committer.set(writes("alone", 3));
    const snapshots = await read(["alone-0", "alone-1", "alone-2"]);
    expect(snapshots.every((snapshot) => snapshot.exists)).toBe(true);
    expect(commitTimes(snapshots).size).toBe(1);
  });

  it("lets callers who arrive while a commit is out share the next one, each caller's writes in one commit", async () => {
    const { committer, writes, read } = setup({ maxInFlight: 1 });
    const callers = Array.from({ length: 12 }, (_, i) => `c${i}`);
    await Promise.all(callers.map((caller) => committer.set(writes(caller, 5))));
    const all = await read(callers.flatMap((caller) => [0, 1, 2, 3, 4].map((i) => `${caller}-${i}`)));
    expect(all.every((snapshot) => snapshot.exists)).toBe(true);
    // The first caller goes alone; the other eleven waited for it and went out together.
    expect(commitTimes(all).size).toBe(2);
    for (const caller of callers) {
      expect(commitTimes(all.filter((snapshot) => snapshot.id.startsWith(`${caller}-`))).size).toBe(1);
    }
  });

  it("reports each commit's size and how many writes wait (for metrics)", async () => {
    const sizes: number[] = [];
    const { committer, writes } = setup({ maxInFlight: 1, onCommit: (documents) => sizes.push(documents) });
    const pending = ["a", "b", "c", "d"].map((caller) => committer.set(writes(caller, 3)));
    // "a" went out at once; the other three wait for it.
    expect(committer.queuedWrites).toBe(9);
    await Promise.all(pending);
    expect(committer.queuedWrites).toBe(0);
    expect(sizes).toEqual([3, 9]);
  });

  it("never puts more than maxWrites documents in one commit, and never splits a caller", async () => {
    const { committer, writes, read } = setup({ maxInFlight: 1, maxWrites: 10 });
    const callers = ["a", "b", "c", "d", "e"];
    await Promise.all(callers.map((caller) => committer.set(writes(caller, 4))));
    const all = await read(callers.flatMap((caller) => [0, 1, 2, 3].map((i) => `${caller}-${i}`)));
    const byCommit = new Map<string, number>();
    for (const snapshot of all) {
      const key = `${snapshot.updateTime?.toMillis()}:${snapshot.updateTime?.nanoseconds}`;
      byCommit.set(key, (byCommit.get(key) ?? 0) + 1);
    }
    // "a" alone, then b+c (8), then d+e (8): 4 + 4 + 4 would pass 10.
    expect([...byCommit.values()].sort()).toEqual([4, 8, 8]);
    await expect(committer.set(writes("big", 11))).rejects.toThrow(RangeError);
  });

  it("keeps two callers' writes to one document in separate commits, the later landing last", async () => {
    const { committer, collection, writes, read } = setup({ maxInFlight: 1 });
    const first = committer.set(writes("warm", 1));
    const same = (value: string): BlindWrite[] => [{ ref: collection.doc("shared"), data: { value } }];
    await Promise.all([first, committer.set(same("earlier")), committer.set(same("later"))]);
    const [shared] = await read(["shared"]);
    expect(shared?.get("value")).toBe("later");
  });

  it("holds a rewrite of a document whose commit is still out, though commit slots are free", async () => {
    const { committer, collection, writes, read } = setup({ maxInFlight: 4 });
    const same = (value: string): BlindWrite[] => [{ ref: collection.doc("racy"), data: { value } }];
    const earlier = committer.set(same("earlier"));
    const later = committer.set(same("later"));
    const other = committer.set(writes("other", 1));
    // Two commits in flight may land in either order: "later" waits for "earlier" (and "other" behind it).
    expect(committer.queuedWrites).toBe(2);
    await Promise.all([earlier, later, other]);
    const [racy, unrelated] = await read(["racy", "other-0"]);
    expect(racy?.get("value")).toBe("later");
    expect(unrelated?.exists).toBe(true);
  });

  it("fails only the caller whose writes are bad when a shared commit fails for good", async () => {
    const { committer, writes, read } = setup({ maxInFlight: 1 });
    const warm = committer.set(writes("warm", 1));
    // `undefined` is not a Firestore value: the batch refuses it, a permanent error of one caller's data.
    const results = await Promise.allSettled([
      warm,
      committer.set(writes("good1", 2)),
      committer.set(writes("bad", 2, { value: undefined })),
      committer.set(writes("good2", 2)),
    ]);
    expect(results.map((result) => result.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    const snapshots = await read(["good1-0", "good1-1", "bad-0", "bad-1", "good2-0", "good2-1"]);
    expect(snapshots.map((snapshot) => snapshot.exists)).toEqual([true, true, false, false, true, true]);
  });

  it("refuses writes at once with StoreUnavailableError when too many are waiting (back-pressure)", async () => {
    const { committer, writes, read } = setup({ maxInFlight: 1, maxQueuedWrites: 6 });
    const inFlight = committer.set(writes("first", 1));
    const queued = committer.set(writes("queued", 6));
    await expect(committer.set(writes("over", 1))).rejects.toBeInstanceOf(StoreUnavailableError);
    await Promise.all([inFlight, queued]);
    // The queue drained: the next write is taken again.
    await committer.set(writes("after", 1));
    const snapshots = await read(["first-0", "queued-5", "over-0", "after-0"]);
    expect(snapshots.map((snapshot) => snapshot.exists)).toEqual([true, true, false, true]);
  });
});
