import { BoundedMap } from "../bounded-map.js";
import type { Clock, NewPoint, TelemetryPoint, TelemetryStore, TenantId } from "../stores/types.js";

/**
 * The dashboard read budget by design (docs/design/telemetry.md): "the latest N points" of a device, N ≤ 100,
 * served from memory and refreshed by an incremental query, `TelemetryStore.newerThan(newest held)`. A poll
 * that finds no new data bills one read (Firestore bills an empty query as one); new points bill one read
 * each, and the points this instance wrote itself are added on write-through and never re-read. Dashboards
 * polling the same device share one entry, and concurrent polls share one refresh.
 *
 * Out-of-order and backfilled points: `newerThan` only finds points newer than the newest held, so a
 * point older than that is seen only if it comes through `recordWrite` (the API's writes do: the cache
 * inserts it in place, or drops it if it is older than the N held). A point written elsewhere (another
 * instance's out-of-order write, the backfill tool) is picked up by the periodic full reload,
 * `fullReloadMs` (10 min by default): that bounds the staleness of such points and costs N reads per
 * device per period (10 reads/min at the defaults, within the budget of 50).
 *
 * Entries are keyed by tenant and device, and every point is checked against both before it is kept,
 * so one tenant can never be served another's points. The number of devices held is LRU-bounded.
 */
export interface LatestCacheOptions {
  /** Points held per device: the largest `limit` served from memory. At most 100. */
  capacity?: number;
  /** Devices held; the least recently polled is dropped first. */
  maxDevices?: number;
  /** Polls this soon after a refresh are served from memory without a query. */
  minRefreshMs?: number;
  /** A device's entry is reloaded in full after this long (see out-of-order points above). */
  fullReloadMs?: number;
  clock?: Clock;
}

export const MAX_CACHED_POINTS = 100;

interface Entry {
  /** The store the points came from; another one (a flag flip) means a full reload. */
  source: TelemetryStore | null;
  tenant: TenantId;
  deviceId: string;
  /** Newest first, distinct timestamps, at most `capacity`. */
  points: TelemetryPoint[];
  refreshedAt: number;
  loadedAt: number;
  refreshing: Promise<void> | null;
}

/**
 * @example
 * const cache = new LatestTelemetryCache(() => router.stores.telemetry, { clock });
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
    this.#entries = new BoundedMap(options.maxDevices ?? 10_000);
    this.#minRefreshMs = options.minRefreshMs ?? 1000;
    this.#fullReloadMs = options.fullReloadMs ?? 10 * 60_000;
    this.#clock = options.clock ?? Date.now;
  }

  /** Devices currently held. */
  get size(): number {
    return this.#entries.size;
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
        points: [],
        refreshedAt: -Infinity,
        loadedAt: -Infinity,
        refreshing: null,
      };
      this.#entries.set(key, entry);
    }

    const store = this.#store();
    if (entry.source !== store && !entry.refreshing) {
      Object.assign(entry, { source: store, points: [], refreshedAt: -Infinity, loadedAt: -Infinity });
    }
    if (!entry.refreshing && this.#clock() - entry.refreshedAt >= this.#minRefreshMs) {
      entry.refreshing = this.#refresh(entry, store).finally(() => {
        if (entry) entry.refreshing = null;
      });
    }
    if (entry.refreshing) await entry.refreshing;
    return entry.points.slice(0, limit);
  }

  /**
   * Adds points this instance has just written (after the store accepted them), so that the next poll
   * does not read them back. Out-of-order points are inserted in place; ones older than all N held
   * are not among the latest N and are dropped. A device not held is left alone.
   */
  recordWrite(tenant: TenantId, deviceId: string, points: readonly NewPoint[]): void {
    const entry = this.#entries.peek(keyOf(tenant, deviceId));
    if (!entry) return;
    entry.points = this.#merge(
      entry,
      points.map((point) => ({
        tenant_id: tenant,
        device_id: deviceId,
        timestamp_ms: point.timestamp_ms,
        metrics: point.metrics,
        source: point.source ?? "api",
      })),
      entry.points,
    );
  }

  /** Forgets one device (e.g. when it is deleted), or every device (`clear`). */
  invalidate(tenant: TenantId, deviceId: string): void {
    this.#entries.delete(keyOf(tenant, deviceId));
  }

  clear(): void {
    this.#entries.clear();
  }

  async #refresh(entry: Entry, store: TelemetryStore): Promise<void> {
    const startedAt = this.#clock();
    const reload = startedAt - entry.loadedAt >= this.#fullReloadMs;
    const newest = entry.points[0]?.timestamp_ms;
    const fetched =
      reload || newest === undefined
        ? await store.latest(entry.tenant, entry.deviceId, this.capacity)
        : // Oldest first; if more than `capacity` arrived, these are the newest of them.
          (await store.newerThan(entry.tenant, entry.deviceId, newest, this.capacity)).reverse();
    // On a full reload the store's answer wins over what was held for the same timestamp; points
    // held are still merged in, because a write-through may have landed while the query ran.
    entry.points = this.#merge(entry, fetched, entry.points);
    entry.refreshedAt = startedAt;
    if (reload || newest === undefined) entry.loadedAt = startedAt;
  }

  /** `preferred` wins on equal timestamps; the result is newest first and trimmed to capacity. */
  #merge(entry: Entry, preferred: TelemetryPoint[], others: TelemetryPoint[]): TelemetryPoint[] {
    const byTimestamp = new Map<number, TelemetryPoint>();
    for (const point of [...others, ...preferred]) {
      // Defence in depth: nothing that is not this tenant's device ever enters its entry.
      if (point.tenant_id !== entry.tenant || point.device_id !== entry.deviceId) continue;
      byTimestamp.set(point.timestamp_ms, point);
    }
    return [...byTimestamp.values()].sort((a, b) => b.timestamp_ms - a.timestamp_ms).slice(0, this.capacity);
  }
}

function keyOf(tenant: TenantId, deviceId: string): string {
  return JSON.stringify([tenant, deviceId]);
}
