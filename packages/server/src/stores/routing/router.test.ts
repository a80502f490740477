import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { testFirestore } from "../../../../../test/firestore.js";
import { createSqliteFleetState } from "../../fleet/sqlite.js";
import { openSqlite } from "../../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../../storage/sqlite-migrations.js";
import { createFirestoreStores, createSqliteStores } from "../index.js";
import { FlagsState } from "./flags.js";
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
  const fleet = createSqliteFleetState(db);
  const flags = new FlagsState(fleet.flags, OFF);
  const router = routeStores({
    sqlite: createSqliteStores(db, {}),
    firestore: options.withFirestore ? createFirestoreStores(firestore, {}) : null,
    flags,
  });
  const moves: AreaMove[] = [];
  router.onAreaMoved((move) => moves.push(move));
  return { fleet, flags, router, moves };
}

describe("the store router", () => {
  it("publishes each area move: who moved it, from where to where, and the stores that moved with it", async () => {
    const { flags, router, moves } = routed({ withFirestore: true });
    await flags.update((current) => ({ ...current, auth: true, audit: true }), "cli:alice", Date.now());
    expect(router.backends()).toEqual({ telemetry: "sqlite", audit: "firestore", auth: "firestore" });
    expect(moves).toEqual([
      { area: "audit", from: "sqlite", to: "firestore", by: "cli:alice", stores: ["audit"] },
      {
        area: "auth",
        from: "sqlite",
        to: "firestore",
        by: "cli:alice",
        stores: ["tenants", "users", "sessions", "devices"],
      },
    ]);
  });

  it("publishes a move that another instance made, when it observes the saved flags", async () => {
    const { fleet, flags, moves } = routed({ withFirestore: true });
    const otherInstance = new FlagsState(fleet.flags, OFF);
    await otherInstance.update((current) => ({ ...current, telemetry: true }), "cli", Date.now());
    expect(moves).toEqual([]);
    flags.observe((await fleet.flags.load())!);
    expect(moves).toEqual([
      { area: "telemetry", from: "sqlite", to: "firestore", by: "cli", stores: ["telemetry"] },
    ]);
    flags.observe((await fleet.flags.load())!);
    expect(moves).toHaveLength(1);
  });

  it("publishes nothing when no area changes store: without Firestore, or for the dual-write window alone", async () => {
    const alone = routed({ withFirestore: false });
    await alone.flags.update((current) => ({ ...current, auth: true }), "cli:alice", Date.now());
    expect(alone.router.backendOf("auth")).toBe("sqlite");
    expect(alone.moves).toEqual([]);

    const both = routed({ withFirestore: true });
    await both.flags.update((current) => ({ ...current, telemetry_dual_write: true }), "cli", Date.now());
    expect(both.moves).toEqual([]);
  });

  it("stops calling a listener once it unsubscribes", async () => {
    const { flags, router } = routed({ withFirestore: true });
    const heard: string[] = [];
    const unsubscribe = router.onAreaMoved((move) => heard.push(move.area));
    await flags.update((current) => ({ ...current, audit: true }), "cli", Date.now());
    unsubscribe();
    await flags.update((current) => ({ ...current, audit: false }), "cli", Date.now());
    expect(heard).toEqual(["audit"]);
  });
});
