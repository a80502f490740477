import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { testFirestore } from "../../../../../test/firestore.js";
import { openSqlite } from "../../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../../storage/sqlite-migrations.js";
import { createFirestoreStores, createSqliteStores } from "../index.js";
import type { TelemetryStore } from "../types.js";
import { dualWriteTelemetry, withIndexFallback } from "./dual-write.js";

const db = openSqlite(join(mkdtempSync(join(tmpdir(), "firebrick-dual-")), "f.sqlite"), SQLITE_MIGRATIONS);
const firestore = testFirestore("dual-write");
afterAll(async () => {
  db.close();
  await firestore.terminate();
});
const sqlite = createSqliteStores(db, {}).telemetry;
const remote = createFirestoreStores(firestore, {}).telemetry;
const device = "5b4a7c2e-1d3f-4e5a-9b8c-7d6e5f4a3b2c";
const now = Date.now();

/** The real Firestore store, but its reads fail as Firestore does while a composite index builds. */
function indexNotReady(store: TelemetryStore): TelemetryStore & { failing: boolean } {
  const notReady = () =>
    Object.assign(new Error("9 FAILED_PRECONDITION: The query requires an index."), { code: 9 });
  const wrapped = {
    failing: true,
    append: store.append.bind(store),
    latest: async (...args: Parameters<TelemetryStore["latest"]>) => {
      if (wrapped.failing) throw notReady();
      return store.latest(...args);
    },
    window: store.window.bind(store),
    changes: store.changes.bind(store),
  };
  return wrapped;
}

describe("the telemetry dual-write window", () => {
  it("writes every point to both stores and reads from the primary only", async () => {
    const dual = dualWriteTelemetry(sqlite, remote);
    await dual.append("acme", device, [{ timestamp_ms: now - 1000, metrics: { t: 1 } }]);
    expect((await sqlite.latest("acme", device, 10)).map((p) => p.timestamp_ms)).toEqual([now - 1000]);
    expect((await remote.latest("acme", device, 10)).map((p) => p.timestamp_ms)).toEqual([now - 1000]);
    await sqlite.append("acme", device, [{ timestamp_ms: now - 500, metrics: { t: 2 } }]);
    expect((await dual.latest("acme", device, 10)).map((p) => p.timestamp_ms)).toEqual([
      now - 500,
      now - 1000,
    ]);
  });

  it("serves reads from SQLite while Firestore's index is not ready, backing off before trying again", async () => {
    let clock = now;
    const flaky = indexNotReady(remote);
    const fallbacks: number[] = [];
    const store = withIndexFallback(flaky, sqlite, {
      clock: () => clock,
      baseDelayMs: 1000,
      onFallback: (until) => fallbacks.push(until - clock),
    });
    expect((await store.latest("acme", device, 10)).length).toBe(2); // SQLite's view
    flaky.failing = false;
    expect((await store.latest("acme", device, 10)).length).toBe(2); // still backing off: SQLite, Firestore untried
    clock += 1001;
    flaky.failing = true;
    await store.latest("acme", device, 10);
    expect(fallbacks).toEqual([1000, 2000]);
    clock += 2001;
    flaky.failing = false;
    expect((await store.latest("acme", device, 10)).map((p) => p.timestamp_ms)).toEqual([now - 1000]); // Firestore again
  });
});
