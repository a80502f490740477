import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { CircuitOpenError, withResilience } from "../stores/resilience.js";
import { createLogger } from "./logger.js";
import { createMetrics } from "./metrics.js";
import { resilienceHooks } from "./resilience-hooks.js";

describe("resilienceHooks", () => {
  it("shows an open breaker as a gauge, counts the calls it refuses, and logs each change", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    let logged = "";
    const logger = createLogger(
      "info",
      new Writable({
        write(chunk, _encoding, done) {
          logged += chunk.toString();
          done();
        },
      }),
    );
    let now = 0;
    let healthy = false;
    // A store endpoint that refuses as an unreachable Firestore does (gRPC UNAVAILABLE), then recovers.
    const stores = withResilience(
      {
        telemetry: {
          async latest() {
            if (!healthy) throw Object.assign(new Error("unavailable"), { code: 14 });
            return [];
          },
        },
      },
      {
        maxRetries: 0,
        failureThreshold: 1,
        openMs: 1000,
        clock: () => now,
        sleep: async () => {},
        ...resilienceHooks(metrics, logger),
      },
    );

    await stores.telemetry.latest().catch(() => {});
    await expect(stores.telemetry.latest()).rejects.toBeInstanceOf(CircuitOpenError);
    let text = await metrics.registry.metrics();
    expect(text).toContain('firebrick_store_breaker_open{endpoint="telemetry.latest"} 1');
    expect(text).toContain('firebrick_store_breaker_rejections_total{endpoint="telemetry.latest"} 1');

    healthy = true;
    now += 1000;
    await stores.telemetry.latest();
    text = await metrics.registry.metrics();
    expect(text).toContain('firebrick_store_breaker_open{endpoint="telemetry.latest"} 0');
    expect(logged).toContain("store circuit breaker open");
    expect(logged).toContain("store circuit breaker closed");
  });
});
