import { describe, expect, it } from "vitest";
import type { Device, DevicesStore } from "../stores/types.js";
import { DeviceDirectory, LONG_TTL_MS, SHORT_TTL_MS } from "./directory.js";

const ID = "5b4a7c2e-1d3f-4e5a-9b8c-7d6e5f4a3b2c";

const deviceOf = (tenant: string, id: string, token_hash = "a".repeat(64)): Device => ({
  id,
  tenant_id: tenant,
  name: "AHU",
  token_hash,
  created_at: 0,
  token_rotated_at: 0,
  location: { site: "HQ", building: "A", floor: null, zone: null },
  points: {},
  last_seen_ms: null,
});

/** A devices store that counts its reads and can hold a read back until released. */
function countingStore() {
  let hash = "a".repeat(64);
  let hold: Promise<void> | null = null;
  const store = {
    reads: 0,
    rotate(next: string) {
      hash = next;
    },
    holdNextRead() {
      let release!: () => void;
      hold = new Promise((resolve) => {
        release = resolve;
      });
      return release;
    },
    async get(tenant: string, id: string): Promise<Device | null> {
      store.reads += 1;
      const seen = hash;
      if (hold) {
        const waiting = hold;
        hold = null;
        await waiting;
      }
      return deviceOf(tenant, id, seen);
    },
  };
  return store;
}

/** A directory over a counting store, on a clock the test moves. */
function directoryOn(store: ReturnType<typeof countingStore>) {
  const clock = { now: 1_000_000 };
  const directory = new DeviceDirectory(
    () => store as unknown as DevicesStore,
    () => clock.now,
    1 << 20,
  );
  return { directory, clock };
}

describe("the device directory", () => {
  it("trusts a device 5 minutes while the change feed is heard, 10 s while it is not", async () => {
    const store = countingStore();
    const { directory, clock } = directoryOn(store);
    await directory.get("acme", ID);
    clock.now += SHORT_TTL_MS + 1;
    await directory.get("acme", ID); // no feed yet: the short time applies
    expect(store.reads).toBe(2);

    clock.now += 5000;
    directory.feedHealthy(true);
    clock.now += SHORT_TTL_MS;
    await directory.get("acme", ID); // fetched before the feed was heard: short time, read again
    expect(store.reads).toBe(3);
    for (let i = 0; i < 20; i++) {
      clock.now += 12_000; // a device at the default pace
      await directory.get("acme", ID);
    }
    expect(store.reads).toBe(3);
    clock.now += LONG_TTL_MS;
    await directory.get("acme", ID);
    expect(store.reads).toBe(4);

    directory.feedHealthy(false);
    clock.now += SHORT_TTL_MS + 1;
    await directory.get("acme", ID);
    expect(store.reads).toBe(5);
  });

  it("forgets a device heard of on the feed, and does not keep a lookup that was in flight meanwhile", async () => {
    const store = countingStore();
    const { directory, clock } = directoryOn(store);
    directory.feedHealthy(true);
    clock.now += 1;
    expect((await directory.get("acme", ID))?.token_hash).toBe("a".repeat(64));

    // A lookup reads the old hash, the rotation is heard before it returns: it must not be kept.
    directory.forget("acme", ID);
    const release = store.holdNextRead();
    const inFlight = directory.get("acme", ID);
    store.rotate("b".repeat(64));
    directory.forget("acme", ID);
    release();
    expect((await inFlight)?.token_hash).toBe("a".repeat(64));
    expect((await directory.get("acme", ID))?.token_hash).toBe("b".repeat(64));
  });

  it("holds no more than its byte budget, drops the least recently used device, and reads a dropped one again", async () => {
    const store = countingStore();
    const clock = { now: 1_000_000 };
    const ids = Array.from(
      { length: 12 },
      (_, i) => `5b4a7c2e-1d3f-4e5a-9b8c-${String(i).padStart(12, "0")}`,
    );
    // Room for about four devices.
    const budget = 4 * 700;
    const directory = new DeviceDirectory(
      () => store as unknown as DevicesStore,
      () => clock.now,
      budget,
    );
    for (const id of ids) await directory.get("acme", id);
    expect(store.reads).toBe(12);
    const { devices, bytes } = directory.held;
    expect(bytes).toBeLessThanOrEqual(budget);
    expect(devices).toBeGreaterThanOrEqual(3);
    expect(devices).toBeLessThan(12);

    // The newest are held (no read); the oldest was dropped, and is read again, not refused.
    await directory.get("acme", ids[11]!);
    expect(store.reads).toBe(12);
    const again = await directory.get("acme", ids[0]!);
    expect(again?.id).toBe(ids[0]);
    expect(again?.location).toEqual({ site: "HQ", building: "A", floor: null, zone: null });
    expect(store.reads).toBe(13);
    expect(directory.held.bytes).toBeLessThanOrEqual(budget);
  });
});
