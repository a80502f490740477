import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openSqlite } from "../storage/sqlite.js";
import { SQLITE_MIGRATIONS } from "../storage/sqlite-migrations.js";
import { createSqliteStores } from "../stores/sqlite/index.js";
import type { DevicesStore } from "../stores/types.js";
import { UsageTally } from "../stores/usage.js";
import { Connectivity, SEEN_WRITE_INTERVAL_MS } from "./connectivity.js";

const MINUTE = 60_000;

describe("connectivity", () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  /** Real SQLite stores on a clock the test moves, with their billed writes counted. */
  function fixture() {
    const dir = mkdtempSync(join(tmpdir(), "firebrick-connectivity-"));
    const db = openSqlite(join(dir, "firebrick.sqlite"), SQLITE_MIGRATIONS);
    cleanups.push(() => {
      if (db.open) db.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const clock = { now: Date.UTC(2026, 0, 5, 8) };
    const tally = new UsageTally();
    const stores = createSqliteStores(db, { clock: () => clock.now, usage: tally });
    const instance = (offlineAfterMs = 5 * MINUTE, maxBytes = 2 ** 20) =>
      new Connectivity(() => stores.devices, { clock: () => clock.now, offlineAfterMs, maxBytes });
    return { db, clock, tally, stores, instance };
  }

  it("writes last_seen_ms once a minute per device on one instance, whatever the rate", async () => {
    const { clock, tally, stores, instance } = fixture();
    const connectivity = instance();
    const devices = await Promise.all(
      ["AHU-1", "AHU-2", "AHU-3"].map((name) =>
        stores.devices.create("acme", { name, token_hash: "a".repeat(64) }),
      ),
    );
    tally.reset();
    // 30 minutes at 10 writes a second per device, seen through the device as a cache would hold it.
    for (let elapsed = 0; elapsed < 30 * MINUTE; elapsed += 100) {
      for (const device of devices) await connectivity.seen(device);
      clock.now += 100;
    }
    expect(tally.byArea.get("sqlite:devices")).toEqual({ reads: 0, writes: 3 * 30 });
    for (const device of devices) {
      const stored = await stores.devices.get("acme", device.id);
      expect(clock.now - stored!.last_seen_ms!).toBeLessThanOrEqual(SEEN_WRITE_INTERVAL_MS);
    }
  });

  it("holds no more than its byte budget, and judges a dropped device by its stored last_seen_ms", async () => {
    const { clock, tally, stores, instance } = fixture();
    // Room for about three devices' records (≈ 220 bytes each).
    const budget = 700;
    const connectivity = instance(5 * MINUTE, budget);
    const devices = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        stores.devices.create("acme", { name: `AHU-${i}`, token_hash: "a".repeat(64) }),
      ),
    );
    tally.reset();
    for (const device of devices) await connectivity.seen(device);
    expect(tally.byArea.get("sqlite:devices")?.writes).toBe(6);
    expect(connectivity.bytes).toBeGreaterThan(0);
    expect(connectivity.bytes).toBeLessThanOrEqual(budget);

    clock.now += 1000;
    // The newest are held: no write within the minute.
    for (const device of devices.slice(3)) await connectivity.seen(device);
    expect(tally.byArea.get("sqlite:devices")?.writes).toBe(6);
    // The oldest was dropped: the device as read again (what the directory would hand over) carries the
    // stored last_seen_ms, so it is not written again either.
    const reread = await stores.devices.get("acme", devices[0]!.id);
    await connectivity.seen(reread!);
    expect(tally.byArea.get("sqlite:devices")?.writes).toBe(6);
    expect(connectivity.bytes).toBeLessThanOrEqual(budget);
  });

  it("makes at most one write a minute per device per instance when N instances share the traffic", async () => {
    const { clock, tally, stores, instance } = fixture();
    const fleet = [instance(), instance(), instance()];
    const device = await stores.devices.create("acme", { name: "VAV", token_hash: "a".repeat(64) });
    tally.reset();
    let turn = 0;
    for (let elapsed = 0; elapsed < 20 * MINUTE; elapsed += 250) {
      await fleet[turn++ % fleet.length]!.seen(device);
      clock.now += 250;
    }
    const writes = tally.byArea.get("sqlite:devices")?.writes ?? 0;
    expect(writes).toBeLessThanOrEqual(fleet.length * 20);
    expect(writes).toBeGreaterThanOrEqual(20);
  });

  it("adds no write on a new instance while the stored last_seen_ms is less than a minute old", async () => {
    const { clock, tally, stores, instance } = fixture();
    const device = await stores.devices.create("acme", { name: "FCU", token_hash: "a".repeat(64) });
    await instance().seen(device);
    const stored = (await stores.devices.get("acme", device.id))!;
    tally.reset();
    clock.now += 30_000;
    await instance().seen(stored);
    expect(tally.writes).toBe(0);
    clock.now += 30_000;
    await instance().seen(stored);
    expect(tally.writes).toBe(1);
  });

  it("derives online and offline from last_seen_ms and the inactivity time, with no timer", async () => {
    const { clock, instance } = fixture();
    const connectivity = instance(2 * MINUTE);
    expect(connectivity.status({ last_seen_ms: null })).toBe("offline");
    const seen = clock.now;
    expect(connectivity.status({ last_seen_ms: seen })).toBe("online");
    clock.now = seen + 2 * MINUTE - 1;
    expect(connectivity.status({ last_seen_ms: seen })).toBe("online");
    clock.now = seen + 2 * MINUTE;
    expect(connectivity.status({ last_seen_ms: seen })).toBe("offline");
  });

  it("does not fail the caller when the write fails, logs it, and writes on the device's next request", async () => {
    const { db, clock, stores } = fixture();
    const device = await stores.devices.create("acme", { name: "Boiler", token_hash: "a".repeat(64) });
    let devices: DevicesStore = stores.devices;
    const connectivity = new Connectivity(() => devices, {
      clock: () => clock.now,
      offlineAfterMs: 5 * MINUTE,
      maxBytes: 2 ** 20,
    });
    const warnings: string[] = [];
    const log = { warn: (_details: object, message: string) => warnings.push(message) };

    db.close();
    await expect(connectivity.seen(device, log)).resolves.toBeUndefined();
    expect(warnings).toEqual(["last_seen_ms not recorded"]);

    const reopened = fixture();
    const moved = await reopened.stores.devices.create("acme", {
      id: device.id,
      name: "Boiler",
      token_hash: "a".repeat(64),
    });
    devices = reopened.stores.devices;
    clock.now += 1000;
    await connectivity.seen(moved, log);
    expect((await reopened.stores.devices.get("acme", device.id))?.last_seen_ms).toBe(clock.now);
  });
});
