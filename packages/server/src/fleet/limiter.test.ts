import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { openSqlite, type SqliteDatabase } from "../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../storage/sqlite-migrations.js";
import { SqliteGroupCommit } from "../stores/sqlite/group-commit.js";
import { UsageTally } from "../stores/usage.js";
import { FleetLimiter, type LimitPolicy } from "./limiter.js";
import { createSqliteFleetState } from "./sqlite.js";

const POLICY: LimitPolicy = { name: "test_writes", capacity: 5, windowMs: 60_000 };
const databases: SqliteDatabase[] = [];
afterAll(() => {
  for (const db of databases) db.close();
});

/** Instances sharing one SQLite file, each with its own connection, limiter and usage tally. */
function fleetOf(count: number, options: { groupCommit?: boolean } = {}) {
  const file = join(mkdtempSync(join(tmpdir(), "firebrick-limiter-")), "f.sqlite");
  const clock = { now: Date.UTC(2026, 10, 1) };
  return Array.from({ length: count }, () => {
    const db = openSqlite(file, SQLITE_MIGRATIONS);
    databases.push(db);
    const usage = new UsageTally();
    // Callers per shared transaction, when writes are group-committed.
    const commits = {
      callers: [] as number[],
      group: undefined as SqliteGroupCommit | undefined,
    };
    if (options.groupCommit) {
      commits.group = new SqliteGroupCommit(db, {
        onCommit: (_rows, callers) => commits.callers.push(callers),
      });
    }
    const state = createSqliteFleetState(db, {
      clock: () => clock.now,
      usage,
      ...(commits.group && { commits: commits.group }),
    });
    return {
      limiter: new FleetLimiter(state.records, { clock: () => clock.now, maxBytes: 1 << 20 }),
      usage,
      clock,
      commits,
    };
  });
}

describe("the fleet limiter", () => {
  it("holds a limit across instances: charges spread over three instances accept exactly the capacity", async () => {
    const instances = fleetOf(3);
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) => instances[i % 3]!.limiter.charge(POLICY, "device-1", 1)),
    );
    expect(outcomes.filter((o) => o.ok)).toHaveLength(5);
    const refused = outcomes.find((o) => !o.ok);
    expect(refused).toMatchObject({ ok: false, retryAfterMs: expect.any(Number) });
    // Draining: after 12 s one more point fits, wherever it arrives.
    instances[0]!.clock.now += 12_000;
    expect(await instances[2]!.limiter.charge(POLICY, "device-1", 1)).toMatchObject({ ok: true });
    expect(await instances[1]!.limiter.charge(POLICY, "device-1", 1)).toMatchObject({ ok: false });
  });

  it("holds a limit across instances whose record writes share their telemetry group commit", async () => {
    const instances = fleetOf(3, { groupCommit: true });
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) => instances[i % 3]!.limiter.charge(POLICY, "device-1", 1)),
    );
    expect(outcomes.filter((o) => o.ok)).toHaveLength(5);
    instances[0]!.clock.now += 12_000;
    expect(await instances[2]!.limiter.charge(POLICY, "device-1", 1)).toMatchObject({ ok: true });
    expect(await instances[1]!.limiter.charge(POLICY, "device-1", 1)).toMatchObject({ ok: false });
  });

  it("commits a charge on the version it holds in the transaction of concurrent telemetry, not one of its own", async () => {
    const [only] = fleetOf(1, { groupCommit: true });
    const { limiter, commits } = only!;
    await limiter.charge(POLICY, "device-3", 1); // first sight: a read, then a write at once
    expect(commits.callers).toEqual([]);
    const telemetry = commits.group!.write(1, () => {});
    await Promise.all([limiter.charge(POLICY, "device-3", 1), telemetry]);
    expect(commits.callers).toEqual([2]);
  });

  it("bills one write and no read for a charge on the version it holds, and nothing for a refusal it already knows", async () => {
    const [only] = fleetOf(1);
    const { limiter, usage } = only!;
    await limiter.charge(POLICY, "device-2", 1); // first sight: a read, then the write
    usage.reset();
    for (let i = 0; i < 4; i++) expect((await limiter.charge(POLICY, "device-2", 1)).ok).toBe(true);
    expect({ reads: usage.reads, writes: usage.writes }).toEqual({ reads: 0, writes: 4 });
    usage.reset();
    expect(await limiter.charge(POLICY, "device-2", 1)).toMatchObject({ ok: false, retryAfterMs: 12_000 });
    expect({ reads: usage.reads, writes: usage.writes }).toEqual({ reads: 0, writes: 0 });
  });

  it("re-reads a record another instance changed (one read), and never loses that instance's charge", async () => {
    const [a, b] = fleetOf(2);
    await a!.limiter.charge(POLICY, "device-3", 2);
    await b!.limiter.charge(POLICY, "device-3", 2);
    a!.usage.reset();
    expect(await a!.limiter.charge(POLICY, "device-3", 1)).toMatchObject({ ok: true, level: 5 });
    expect({ reads: a!.usage.reads, writes: a!.usage.writes }).toEqual({ reads: 1, writes: 1 });
    expect(await b!.limiter.charge(POLICY, "device-3", 1)).toMatchObject({ ok: false });
  });

  it("counts without refusing when asked (always), and forgets a key everywhere on reset", async () => {
    const [a, b] = fleetOf(2);
    for (let i = 0; i < 7; i++) await a!.limiter.charge(POLICY, "user", 1, { always: true });
    expect((await b!.limiter.read(POLICY, "user")).all?.level).toBe(7);
    await b!.limiter.reset(POLICY, "user");
    expect(await a!.limiter.read(POLICY, "user")).toEqual({});
    expect(await a!.limiter.charge(POLICY, "user", 1)).toMatchObject({ ok: true, level: 1 });
  });

  it("charges a high limit ahead: 1 % of it per write, spent on this instance without a store call for a second", async () => {
    const high: LimitPolicy = { name: "test_high", capacity: 6000, windowMs: 60_000 };
    const [only] = fleetOf(1);
    const { limiter, usage, clock } = only!;
    const outcomes = await Promise.all(
      Array.from({ length: 100 }, () => limiter.charge(high, "device-4", 1)),
    );
    expect(outcomes.every((o) => o.ok)).toBe(true);
    // 1 + 60 reserved, then 60 spent from the reserve, then 1 + 60 again for the other 39.
    expect({ reads: usage.reads, writes: usage.writes }).toEqual({ reads: 1, writes: 2 });
    usage.reset();
    clock.now += 1001; // the reserve is gone: the next charge writes
    expect((await limiter.charge(high, "device-4", 1)).ok).toBe(true);
    expect(usage.writes).toBe(1);
  });

  it("lets no more than a high limit through over three instances that each charge ahead", async () => {
    const high: LimitPolicy = { name: "test_high", capacity: 300, windowMs: 60_000 };
    const instances = fleetOf(3);
    const outcomes = await Promise.all(
      Array.from({ length: 450 }, (_, i) => instances[i % 3]!.limiter.charge(high, "device-5", 1)),
    );
    const accepted = outcomes.filter((o) => o.ok).length;
    // What is reserved is in the stored bucket already: reserves left unspent (3 a instance at most) are
    // the only difference from the limit, and they are below it.
    expect(accepted).toBeLessThanOrEqual(300);
    expect(accepted).toBeGreaterThanOrEqual(300 - 3 * 3);
  });
});
