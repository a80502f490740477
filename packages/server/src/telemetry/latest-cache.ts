import { BoundedMap, entryOverhead } from "../bounded-map.js";
import {
  type Clock,
  type NewPoint,
  TELEMETRY_RETENTION_MS,
  type TelemetryPoint,
  type TelemetryStore,
  type TenantId,
} from "../stores/types.js";

/**
 * The dashboard read budget by design (docs/design/telemetry.md), on every instance of a fleet
 * (docs/design/fleet.md): "the latest N points" of a device, N ≤ 100, served from memory and refreshed
 * by asking the store what was written since the last refresh (`TelemetryStore.changes`), by anyone:
 *
 * - on Firestore, the points whose write time is after the previous query's read time: a poll that finds
 *   nothing new bills one read, each point written since bills one (a point written within a moment of
 *   the previous poll may bill once more); a late point (an older timestamp) and an overwrite of a point
 *   held are written since too, so every instance sees them at its first refresh after the write;
 * - on SQLite, nothing at all when no process wrote since, else the newest N points again (one short
 *   range of the primary key, no billing).
 *
 * Points this instance writes are added at once (`recordWrite`), so that its own next poll shows them
 * even before a refresh. Dashboards polling the same device share one entry, and concurrent polls share
 * one refresh; a poll less than `minRefreshMs` after the last refresh is served from memory. A full
 * reload every `fullReloadMs` (30 min) is the safety net. Points are kept compactly (timestamp and the
 * metrics' JSON, ~50 bytes a point plus its metrics' JSON), and the entries are bounded in bytes
 * (`maxBytes`), the least recently polled device dropped first.
 *
 * Entries are keyed by tenant and device, and every point is checked against both before it is kept,
 * so one tenant can never be served another's points.
 */
export interface LatestCacheOptions {
  /** Points held per device: the largest `limit` served from memory. At most 100. */
  capacity?: number;
  /** Memory for the entries, by estimate (`FIREBRICK_CACHE_MEMORY_MIB`'s share). */
  maxBytes?: number;
  /** Polls this soon after a refresh are served from memory without a query. */
  minRefreshMs?: number;
  /** A device's entry is reloaded in full after this long. */
  fullReloadMs?: number;
  clock?: Clock;
}

export const MAX_CACHED_POINTS = 100;

interface Entry {
  /** The store the points came from; another one (a flag flip) means a full reload. */
  source: TelemetryStore | null;
  tenant: TenantId;
  deviceId: string;
  /** Newest first, distinct timestamps, at most `capacity`; `metrics[i]` is the JSON of point i's metrics. */
  times: number[];
  metrics: string[];
  sources: string[];
  /** Where the next refresh asks from (`TelemetryStore.changes`); null: a full load. */
  mark: string | null;
  refreshedAt: number;
  loadedAt: number;
  refreshing: Promise<void> | null;
}

/**
 * @example
 * const cache = new LatestTelemetryCache(() => router.stores.telemetry, { clock, maxBytes: 48 * 2 ** 20 });
 * // GET /api/devices/:id/telemetry?limit=100
 * const points = await cache.latest(tenant, deviceId, limit);
 * // POST /api/devices/:id/telemetry, after the append succeeded
 * cache.recordWrite(tenant, deviceId, points);
 */
export class LatestTelemetryCache {
  readonly capacity: number;
  readonly #store: () => TelemetryStore;
  readonly #entries: BoundedMap<string, Entry>;
  readonly #minRefreshMs: number;
  readonly #fullReloadMs: number;
  readonly #clock: Clock;

  /**
   * `store` may be a function (e.g. `() => router.stores.telemetry`) so that a flag flip (SQLite ↔
   * Firestore) is followed: an entry filled from another store instance is reloaded in full.
   */
  constructor(store: TelemetryStore | (() => TelemetryStore), options: LatestCacheOptions = {}) {
    this.#store = typeof store === "function" ? store : () => store;
    this.capacity = Math.min(options.capacity ?? MAX_CACHED_POINTS, MAX_CACHED_POINTS);
    this.#entries = new BoundedMap({ maxBytes: options.maxBytes ?? 48 * 2 ** 20, sizeOf: entrySize });
    this.#minRefreshMs = options.minRefreshMs ?? 1000;
    this.#fullReloadMs = options.fullReloadMs ?? 30 * 60_000;
    this.#clock = options.clock ?? Date.now;
  }

  /** Devices currently held. */
  get size(): number {
    return this.#entries.size;
  }

  /** The bytes the entries take, by estimate. */
  get bytes(): number {
    return this.#entries.bytes;
  }

  /** The newest `limit` points of the device, newest first, as `TelemetryStore.latest` returns them. */
  async latest(tenant: TenantId, deviceId: string, limit: number): Promise<TelemetryPoint[]> {
    if (limit > this.capacity) return this.#store().latest(tenant, deviceId, limit);
    const key = keyOf(tenant, deviceId);
    // A poll is what keeps a device held: `get` marks it as the most recently used.
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = {
        source: null,
        tenant,
        deviceId,
        times: [],
        metrics: [],
        sources: [],
        mark: null,
        refreshedAt: -Infinity,
        loadedAt: -Infinity,
        refreshing: null,
      };
      this.#entries.set(key, entry);
    }

    const store = this.#store();
    if (entry.source !== store && !entry.refreshing) {
      Object.assign(entry, { source: store, times: [], metrics: [], sources: [], mark: null });
    }
    if (!entry.refreshing && this.#clock() - entry.refreshedAt >= this.#minRefreshMs) {
      const refreshing = this.#refresh(entry, store, key).finally(() => {
        entry.refreshing = null;
      });
      entry.refreshing = refreshing;
    }
    if (entry.refreshing) await entry.refreshing;
    return this.#points(entry, limit);
  }

  /**
   * Adds points this instance has just written (after the store accepted them), so that its next poll
   * shows them at once. Out-of-order points are inserted in place; ones older than all N held are not
   * among the latest N and are dropped. A device not held is left alone.
   */
  recordWrite(tenant: TenantId, deviceId: string, points: readonly NewPoint[]): void {
    const key = keyOf(tenant, deviceId);
    const entry = this.#entries.peek(key);
    if (!entry) return;
    this.#merge(
      entry,
      points.map((point) => ({
        tenant_id: tenant,
        device_id: deviceId,
        timestamp_ms: point.timestamp_ms,
        metrics: point.metrics,
        source: point.source ?? "api",
      })),
    );
    this.#remeasure(key, entry);
  }

  /** Forgets one device (e.g. when it is deleted), or every device (`clear`). */
  invalidate(tenant: TenantId, deviceId: string): void {
    this.#entries.delete(keyOf(tenant, deviceId));
  }

  clear(): void {
    this.#entries.clear();
  }

  async #refresh(entry: Entry, store: TelemetryStore, key: string): Promise<void> {
    const startedAt = this.#clock();
    const reload = entry.mark === null || startedAt - entry.loadedAt >= this.#fullReloadMs;
    const answer = await store.changes(
      entry.tenant,
      entry.deviceId,
      reload ? null : entry.mark,
      this.capacity,
    );
    // The store's answer wins over what was held for the same timestamp; points held are kept beside it
    // even on a reset, because a write-through may have landed while the query ran.
    this.#merge(entry, answer.points);
    entry.mark = answer.mark;
    entry.refreshedAt = startedAt;
    if (answer.reset) entry.loadedAt = startedAt;
    this.#remeasure(key, entry);
  }

  /** Merges `preferred` into the entry (it wins on equal timestamps): newest first, trimmed to capacity. */
  #merge(entry: Entry, preferred: readonly TelemetryPoint[]): void {
    const byTimestamp = new Map<number, [string, string]>();
    for (const [i, time] of entry.times.entries())
      byTimestamp.set(time, [entry.metrics[i]!, entry.sources[i]!]);
    for (const point of preferred) {
      // Defence in depth: nothing that is not this tenant's device ever enters its entry.
      if (point.tenant_id !== entry.tenant || point.device_id !== entry.deviceId) continue;
      byTimestamp.set(point.timestamp_ms, [JSON.stringify(point.metrics), point.source]);
    }
    const times = [...byTimestamp.keys()].sort((a, b) => b - a).slice(0, this.capacity);
    entry.times = times;
    entry.metrics = times.map((time) => byTimestamp.get(time)![0]);
    entry.sources = times.map((time) => byTimestamp.get(time)![1]);
  }

  /** The entry's points in the store's shape, newest first, past retention dropped (as the store drops them). */
  #points(entry: Entry, limit: number): TelemetryPoint[] {
    const oldest = this.#clock() - TELEMETRY_RETENTION_MS;
    const points: TelemetryPoint[] = [];
    for (let i = 0; i < entry.times.length && points.length < limit; i++) {
      if (entry.times[i]! <= oldest) break;
      points.push({
        tenant_id: entry.tenant,
        device_id: entry.deviceId,
        timestamp_ms: entry.times[i]!,
        metrics: JSON.parse(entry.metrics[i]!) as Record<string, number>,
        source: entry.sources[i]!,
      });
    }
    return points;
  }

  /** Counts the entry's new size, if it is still held (it may have been dropped while refreshing). */
  #remeasure(key: string, entry: Entry): void {
    if (this.#entries.peek(key) === entry) this.#entries.set(key, entry);
  }
}

function keyOf(tenant: TenantId, deviceId: string): string {
  return JSON.stringify([tenant, deviceId]);
}

/**
 * An entry's bytes, by estimate: its fields and arrays (~200 bytes), and per point a timestamp (8),
 * three array slots (24), the metrics' JSON string (its header and one byte a character; the source
 * strings are shared).
 */
function entrySize(entry: Entry, key: string): number {
  // Measured against the heap (bench/children/structure-sizes.ts): the entry and its three arrays ≈ 320
  // bytes; a point's timestamp, metrics JSON and source ≈ 84 bytes besides the JSON's characters.
  let bytes = entryOverhead(key) + 320 + (entry.mark?.length ?? 0);
  for (const json of entry.metrics) bytes += 84 + json.length;
  return bytes;
}
