import autocannon from "autocannon";
import { HEADER, TENANT } from "../server-process.js";
import type { Device } from "./service.js";

export interface Batch {
  device: Device;
  points: Array<{ timestamp_ms: number; metrics: { zone_temp_c: number; co2_ppm: number } }>;
}

/**
 * The telemetry every ingest comparison writes: request n goes to device n mod D, with `pointsPerRequest`
 * points at timestamps no earlier request of that device used (so nothing is a rewrite), starting an
 * hour ago. Both sides of a comparison draw from one source, so they write the same kind of rows.
 */
export class BatchSource {
  #sequence = 0;

  constructor(
    readonly devices: readonly Device[],
    readonly pointsPerRequest: number,
    readonly base = Date.now() - 3_600_000,
  ) {}

  next(): Batch {
    const n = this.#sequence++;
    const device = this.devices[n % this.devices.length]!;
    const slot = Math.floor(n / this.devices.length) * this.pointsPerRequest;
    return {
      device,
      points: Array.from({ length: this.pointsPerRequest }, (_, j) => ({
        timestamp_ms: this.base + slot + j,
        metrics: { zone_temp_c: 21 + (j % 3), co2_ppm: 450 + j },
      })),
    };
  }
}

export interface HttpIngest {
  /** Points acknowledged (2xx) per second. */
  rate: number;
  requests: number;
  /** Answers other than 2xx, connection errors and timeouts. */
  refused: number;
  /** Latency percentiles of the requests, ms. */
  p50: number;
  p99: number;
  p999: number;
  max: number;
  seconds: number;
}

/**
 * `connections` clients posting the source's batches with their devices' bearer tokens for `seconds`
 * (autocannon; `POST /api/devices/:id/telemetry`).
 */
export async function httpIngest(
  url: string,
  options: { connections: number; seconds: number; source: BatchSource },
): Promise<HttpIngest> {
  const result = await autocannon({
    url,
    connections: options.connections,
    duration: options.seconds,
    // The run stops at the first sample tick after `duration`; a short tick keeps rounds close to it.
    sampleInt: 250,
    requests: [
      {
        method: "POST",
        setupRequest: (request: Record<string, unknown>) => {
          const { device, points } = options.source.next();
          return {
            ...request,
            path: `/api/devices/${device.id}/telemetry`,
            headers: {
              "content-type": "application/json",
              [HEADER]: TENANT,
              authorization: `Bearer ${device.token}`,
            },
            body: JSON.stringify({ points }),
          };
        },
      },
    ],
  });
  const { latency } = result;
  return {
    rate: (result["2xx"] * options.source.pointsPerRequest) / result.duration,
    requests: result["2xx"],
    refused: result.non2xx + result.errors + result.timeouts,
    p50: latency.p50,
    p99: latency.p99,
    p999: latency.p99_9,
    max: latency.max,
    seconds: result.duration,
  };
}

/**
 * `amount` requests over `connections` connections, request i built by `build(i)` (autocannon), e.g. one
 * write per device of a fleet, or one dashboard poll per device. Throws when any answer is not 2xx.
 */
export async function fire(
  url: string,
  options: {
    connections: number;
    amount: number;
    build: (i: number) => { method: string; path: string; headers: Record<string, string>; body?: string };
  },
): Promise<{ seconds: number }> {
  let i = 0;
  const result = await autocannon({
    url,
    connections: options.connections,
    amount: options.amount,
    requests: [
      { setupRequest: (request: Record<string, unknown>) => ({ ...request, ...options.build(i++) }) },
    ],
  });
  const failed = result.non2xx + result.errors + result.timeouts;
  if (failed > 0) {
    throw new Error(
      `${failed} of ${options.amount} requests failed (status codes ${JSON.stringify(result.statusCodeStats)}, errors ${result.errors}, timeouts ${result.timeouts})`,
    );
  }
  return { seconds: result.duration };
}
