import { BoundedMap, entryOverhead } from "../bounded-map.js";
import type { Clock, Device, DevicesStore } from "../stores/types.js";

/** `last_seen_ms` is written at most once per this interval per device and instance. */
export const SEEN_WRITE_INTERVAL_MS = 60_000;
/** The inactivity time after which a device is offline, unless configured (`FIREBRICK_OFFLINE_AFTER_SECONDS`). */
export const DEFAULT_OFFLINE_AFTER_MS = 5 * 60_000;

export type ConnectivityStatus = "online" | "offline";

interface WarnLog {
  warn(details: object, message: string): void;
}

/**
 * Device connectivity (docs/design/devices.md): when a device's telemetry was last accepted, kept cheaply.
 *
 * - **Writes.** The telemetry write path calls `seen` after each accepted write. It writes `last_seen_ms`
 *   (one blind store write, no read) only when a minute has passed since the newer of what this instance
 *   last wrote for the device and what the device it was handed says: at most one write per device per
 *   minute per instance, whatever the ingest rate. N instances that all receive a device's writes make at
 *   most N such writes a minute (each instance its own); an instance started later does not add one while
 *   the stored value (as its device cache holds it) is less than a minute old.
 * - **Reads.** `last_seen_ms` is therefore exact to the minute. The status is derived when it is read, from
 *   `last_seen_ms` and the inactivity time: no timer, no write when a device goes quiet.
 * - **Memory.** What this instance wrote is held in bytes (`maxBytes`, `FIREBRICK_CACHE_MEMORY_MIB`'s
 *   share), the device written least recently dropped first. A dropped device is judged by the
 *   `last_seen_ms` its device record carries: at worst one more write within the minute.
 */
export class Connectivity {
  /** What this instance last wrote, by tenant and device. */
  readonly #written: BoundedMap<string, number>;

  constructor(
    private readonly devices: () => DevicesStore,
    private readonly options: { clock: Clock; offlineAfterMs: number; maxBytes: number },
  ) {
    // The value is a timestamp: a heap number of 16 bytes.
    this.#written = new BoundedMap({
      maxBytes: options.maxBytes,
      sizeOf: (_at, key) => entryOverhead(key) + 16,
    });
  }

  /** The bytes held, by estimate. */
  get bytes(): number {
    return this.#written.bytes;
  }

  get offlineAfterMs(): number {
    return this.options.offlineAfterMs;
  }

  /**
   * Records that `device` was just heard from. A failed write does not fail the caller (its telemetry is
   * stored already): it is logged, and the next write of the device tries again.
   */
  async seen(device: Device, log?: WarnLog): Promise<void> {
    const key = `${device.tenant_id}\u0000${device.id}`;
    const now = this.options.clock();
    const last = Math.max(
      this.#written.get(key) ?? Number.NEGATIVE_INFINITY,
      device.last_seen_ms ?? Number.NEGATIVE_INFINITY,
    );
    if (now - last < SEEN_WRITE_INTERVAL_MS) return;
    // Before the write: concurrent writes of the same device wait for no write of their own.
    this.#written.set(key, now);
    try {
      await this.devices().recordSeen(device.tenant_id, device.id, now);
    } catch (error) {
      if (this.#written.peek(key) === now) this.#written.delete(key);
      log?.warn({ err: error, device_id: device.id }, "last_seen_ms not recorded");
    }
  }

  /** Online while something was accepted within the inactivity time. */
  status(device: Pick<Device, "last_seen_ms">): ConnectivityStatus {
    const { last_seen_ms } = device;
    return last_seen_ms !== null && this.options.clock() - last_seen_ms < this.options.offlineAfterMs
      ? "online"
      : "offline";
  }

  /** Forgets what this instance wrote (the devices moved to the other store). */
  clear(): void {
    this.#written.clear();
  }
}
