import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { testFirestore } from "../../../../../test/firestore.js";
import { openSqlite } from "../../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../../storage/sqlite-migrations.js";
import { createFirestoreStores, createSqliteStores } from "../index.js";
import { FlagsState, sqliteFlagsPersistence } from "./flags.js";
import { type AreaMove, routeStores } from "./router.js";

const firestore = testFirestore("router");
const databases: ReturnType<typeof openSqlite>[] = [];
afterAll(async () => {
  for (const db of databases) db.close();
  await firestore.terminate();
});

const OFF = { telemetry: false, audit: false, auth: false };

/** A router on a fresh SQLite file, with Firestore configured or not, that records every area move. */
function routed(options: { withFirestore: boolean }) {
  const db = openSqlite(
    join(mkdtempSync(join(tmpdir(), "firebrick-router-")), "f.sqlite"),
    SQLITE_MIGRATIONS,
  );
  databases.push(db);
  const flags = new FlagsState(sqliteFlagsPersistence(db), OFF);
  const router = routeStores({
    sqlite: createSqliteStores(db, {}),
    firestore: options.withFirestore ? createFirestoreStores(firestore, {}) : null,
    flags,
  });
  const moves: AreaMove[] = [];
  router.onAreaMoved((move) => moves.push(move));
  return { db, flags, router, moves };
}

describe("the store router", () => {
  it("publishes each area move: who moved it, from where to where, and the stores that moved with it", () => {
    const { flags, router, moves } = routed({ withFirestore: true });
    flags.set({ ...flags.current(), auth: true, audit: true }, Date.now(), "user:alice");
    expect(router.backends()).toEqual({ telemetry: "sqlite", audit: "firestore", auth: "firestore" });
    expect(moves).toEqual([
      { area: "audit", from: "sqlite", to: "firestore", by: "user:alice", stores: ["audit"] },
      {
        area: "auth",
        from: "sqlite",
        to: "firestore",
        by: "user:alice",
        stores: ["tenants", "users", "sessions", "devices"],
      },
    ]);
  });

  it("publishes a move that another instance made, when the flags are reloaded", () => {
    const { db, flags, moves } = routed({ withFirestore: true });
    const otherInstance = new FlagsState(sqliteFlagsPersistence(db), OFF);
    otherInstance.set({ ...otherInstance.current(), telemetry: true }, Date.now(), "cli");
    expect(moves).toEqual([]);
    flags.reload();
    expect(moves).toEqual([
      { area: "telemetry", from: "sqlite", to: "firestore", by: "cli", stores: ["telemetry"] },
    ]);
    flags.reload();
    expect(moves).toHaveLength(1);
  });

  it("publishes nothing when no area changes store: without Firestore, or for the dual-write window alone", () => {
    const alone = routed({ withFirestore: false });
    alone.flags.set({ ...alone.flags.current(), auth: true }, Date.now(), "user:alice");
    expect(alone.router.backendOf("auth")).toBe("sqlite");
    expect(alone.moves).toEqual([]);

    const both = routed({ withFirestore: true });
    both.flags.set({ ...both.flags.current(), telemetry_dual_write: true }, Date.now(), "user:alice");
    expect(both.moves).toEqual([]);
  });

  it("stops calling a listener once it unsubscribes", () => {
    const { flags, router } = routed({ withFirestore: true });
    const heard: string[] = [];
    const unsubscribe = router.onAreaMoved((move) => heard.push(move.area));
    flags.set({ ...flags.current(), audit: true }, Date.now());
    unsubscribe();
    flags.set({ ...flags.current(), audit: false }, Date.now());
    expect(heard).toEqual(["audit"]);
  });
});
