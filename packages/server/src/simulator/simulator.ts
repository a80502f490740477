import { setTimeout as sleep } from "node:timers/promises";
import { ApiRequestError, type FirebrickApiClient, type TelemetryPoint } from "./api-client.js";
import type { DeviceTokenFile, StoredDevice } from "./device-tokens.js";
import { ZoneModel } from "./physics.js";
import { RateBudget } from "./rate-budget.js";

/** Zone names that read like a real building's points list, so that the dashboard looks like one. */
const ROOMS = [
  "Reception",
  "Open office",
  "Meeting room",
  "Lab",
  "Server room",
  "Cafeteria",
  "Library",
  "Training room",
  "Break room",
  "Boardroom",
];

/** `Zone 1.01 Reception`, `Zone 1.02 Open office`, … ten zones per floor. Stable, so re-runs find them. */
export function zoneName(index: number): string {
  const floor = Math.floor(index / ROOMS.length) + 1;
  const room = (index % ROOMS.length) + 1;
  return `Zone ${floor}.${String(room).padStart(2, "0")} ${ROOMS[index % ROOMS.length]}`;
}

export interface Credentials {
  username: string;
  password: string;
}

/**
 * Makes sure `count` simulated devices exist and that we hold a working token for each: reuses the ones in
 * the token file that the server still lists, rotates the token of a device that exists by name but whose
 * token we lost, creates the rest. Without credentials it can only reuse the token file's devices.
 */
export async function ensureDevices(options: {
  api: FirebrickApiClient;
  tokens: DeviceTokenFile;
  count: number;
  credentials: Credentials | null;
  log?: (line: string) => void;
}): Promise<StoredDevice[]> {
  const { api, tokens, count, credentials } = options;
  const log = options.log ?? (() => {});
  const { baseUrl, tenant } = api.options;
  const stored = tokens.load(baseUrl, tenant);
  const wanted = Array.from({ length: count }, (_, index) => zoneName(index));
  const storedByName = new Map(stored.map((device) => [device.name, device]));

  if (!credentials) {
    const missing = wanted.filter((name) => !storedByName.has(name));
    if (missing.length > 0) {
      throw new ApiRequestError(
        401,
        "CREDENTIALS_REQUIRED",
        `${missing.length} of ${count} devices are not in ${tokens.path}; an admin username and password are needed to create them`,
      );
    }
    return wanted.map((name) => storedByName.get(name)!);
  }

  if (!api.hasSession) await api.login(credentials.username, credentials.password);
  const existing = await api.listDevices();
  const existingIds = new Set(existing.map((device) => device.id));
  const existingByName = new Map(existing.map((device) => [device.name, device]));
  const result: StoredDevice[] = [];
  for (const name of wanted) {
    const known = storedByName.get(name);
    if (known && existingIds.has(known.id)) {
      result.push(known);
      continue;
    }
    const onServer = existingByName.get(name);
    if (onServer) {
      const token = await api.rotateToken(onServer.id);
      log(`rotated the token of ${name} (${onServer.id}): it was not in ${tokens.path}`);
      result.push({ id: onServer.id, name, token });
    } else {
      const created = await api.createDevice(name);
      log(`created ${name} (${created.id})`);
      result.push(created);
    }
    // Save as we go: a token is shown once, and an interrupted run must not lose the ones it got.
    tokens.save(baseUrl, tenant, mergeDevices(stored, result));
  }
  tokens.save(baseUrl, tenant, mergeDevices(stored, result));
  return result;
}

function mergeDevices(stored: StoredDevice[], fresh: StoredDevice[]): StoredDevice[] {
  const byName = new Map(stored.map((device) => [device.name, device]));
  for (const device of fresh) byName.set(device.name, device);
  return [...byName.values()];
}

export interface SimulationOptions {
  api: FirebrickApiClient;
  devices: StoredDevice[];
  /** DEVICE_WRITES_PER_MINUTE of the server: points per device per minute. */
  writesPerMinute: number;
  /** Wanted spacing of live points; stretched to 60 s / writesPerMinute if the budget is smaller. */
  intervalMs: number;
  /** Historical points per device posted at start (spaced by the interval), so the chart is not empty. */
  backfill: number;
  seed: number;
  signal: AbortSignal;
  onPoint?: (event: { device: StoredDevice; points: number }) => void;
  onRetry?: (event: { device: StoredDevice; error: ApiRequestError; waitMs: number }) => void;
}

export interface SimulationTotals {
  points: number;
  rateLimited: number;
  failures: number;
}

/** Feeds every device until the signal aborts. Resolves with the totals; never throws for a failed post. */
export async function simulate(options: SimulationOptions): Promise<SimulationTotals> {
  const totals: SimulationTotals = { points: 0, rateLimited: 0, failures: 0 };
  const intervalMs = Math.max(options.intervalMs, Math.ceil(60_000 / options.writesPerMinute));
  await Promise.all(
    options.devices.map((device, index) =>
      runDevice(device, index, { ...options, intervalMs }, totals).catch((error) => {
        if (!options.signal.aborted) throw error;
      }),
    ),
  );
  return totals;
}

async function runDevice(
  device: StoredDevice,
  index: number,
  options: SimulationOptions,
  totals: SimulationTotals,
): Promise<void> {
  const { api, signal, intervalMs } = options;
  const budget = new RateBudget(options.writesPerMinute);
  // Backfill may use at most half the minute's budget, so that live points are not held up behind it.
  const backfill = Math.min(options.backfill, Math.floor(options.writesPerMinute / 2));
  const start = Date.now() - backfill * intervalMs;
  const model = new ZoneModel({ seed: options.seed * 1000 + index, startMs: start });

  const send = async (points: TelemetryPoint[]) => {
    for (;;) {
      const wait = budget.delayFor(points.length, Date.now());
      if (wait > 0) await sleep(wait, undefined, { signal });
      try {
        await api.postTelemetry(device.id, device.token, points);
        budget.record(points.length, Date.now());
        totals.points += points.length;
        options.onPoint?.({ device, points: points.length });
        return;
      } catch (error) {
        if (!(error instanceof ApiRequestError)) throw error;
        if (error.status === 429) {
          totals.rateLimited += 1;
          const waitMs = error.retryAfterMs ?? 60_000 / options.writesPerMinute;
          options.onRetry?.({ device, error, waitMs });
          await sleep(waitMs, undefined, { signal });
          continue;
        }
        totals.failures += 1;
        if (error.status === 401 || error.status === 403 || error.status === 404) {
          // The token or the device is gone; retrying cannot help, and the operator has to know.
          throw error;
        }
        const waitMs = Math.min(intervalMs * 2, 30_000);
        options.onRetry?.({ device, error, waitMs });
        await sleep(waitMs, undefined, { signal });
        return;
      }
    }
  };

  if (backfill > 0) {
    const history: TelemetryPoint[] = [];
    for (let i = 0; i < backfill; i++) {
      const timestamp_ms = start + i * intervalMs;
      history.push({ timestamp_ms, metrics: { ...model.next(timestamp_ms) } });
    }
    await send(history);
  }
  // Stagger the devices over one interval so that their writes do not all land on the same tick.
  await sleep(Math.floor((index * intervalMs) / Math.max(1, options.devices.length)), undefined, { signal });
  while (!signal.aborted) {
    const timestamp_ms = Date.now();
    await send([{ timestamp_ms, metrics: { ...model.next(timestamp_ms) } }]);
    await sleep(intervalMs, undefined, { signal });
  }
}
