import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLock, withTelemetry } from "@firebrick/lock";
import { createSqliteBackend } from "@firebrick/lock/sqlite";
import Database from "better-sqlite3";
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

describe("lockMetricsListener on the real lock library", () => {
  it("counts a real acquisition and a real 'locked' refusal on the SQLite backend", async () => {
    const dir = mkdtempSync(join(tmpdir(), "firebrick-lock-metrics-"));
    const db = new Database(join(dir, "locks.sqlite"));
    try {
      const metrics = createMetrics({ defaultMetrics: false });
      const listen = lockMetricsListener(metrics, "sweeper");
      const backend = withTelemetry(createSqliteBackend(db), listen);
      const lock = createLock(backend, { onEvent: listen });

      await lock(
        async () => {
          // While held, a second instance's attempt finds the key locked.
          const second = await backend.acquire({ key: "jobs/sweeper", ttlMs: 30_000 });
          expect(second.ok).toBe(false);
        },
        { key: "jobs/sweeper", ttlMs: 30_000 },
      );

      const text = await metrics.registry.metrics();
      expect(text).toContain('firebrick_lock_acquisitions_total{lock="sweeper"} 1');
      expect(text).toContain('firebrick_lock_failures_total{lock="sweeper",reason="locked"} 1');
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
