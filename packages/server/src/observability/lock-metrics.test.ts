import { describe, expect, it } from "vitest";
import { lockMetricsListener } from "./lock-metrics.js";
import { createMetrics } from "./metrics.js";

describe("lockMetricsListener", () => {
  it("counts acquisitions and each kind of failure under the lock's name", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const listen = lockMetricsListener(metrics, "sweeper");
    listen({ type: "acquire", result: "ok" });
    listen({ type: "acquire", result: "ok" });
    listen({ type: "acquire", result: "fail", reason: "locked" });
    listen({ type: "acquire", result: "error", errorCode: "ServiceUnavailable" });
    listen({ type: "lock", outcome: "lost" });
    listen({ type: "lock", outcome: "acquire-timeout" });
    listen({ type: "lock", outcome: "released" });
    listen({ type: "release", result: "ok" });

    const text = await metrics.registry.metrics();
    expect(text).toContain('firebrick_lock_acquisitions_total{lock="sweeper"} 2');
    expect(text).toContain('firebrick_lock_failures_total{lock="sweeper",reason="locked"} 1');
    expect(text).toContain('firebrick_lock_failures_total{lock="sweeper",reason="ServiceUnavailable"} 1');
    expect(text).toContain('firebrick_lock_failures_total{lock="sweeper",reason="lost"} 1');
    expect(text).toContain('firebrick_lock_failures_total{lock="sweeper",reason="acquire_timeout"} 1');
    expect(text).not.toContain('reason="released"');
  });
});
