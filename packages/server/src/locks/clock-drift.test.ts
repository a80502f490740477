import type { Firestore } from "@google-cloud/firestore";
import { afterAll, describe, expect, it, vi } from "vitest";
import { emulatorHost, testFirestore, uniqueProjectId } from "../../../../test/firestore.js";
import { createLogger } from "../observability/logger.js";
import { createMetrics } from "../observability/metrics.js";
import { startTestServer } from "../testing/server.js";
import { startClockDriftMonitor } from "./clock-drift.js";

const db: Firestore = testFirestore("clock-drift");
afterAll(() => db.terminate());

/** A monitor on the emulator for a host whose clock runs `skewMs` off; its gauge, its warnings. */
function monitorFor(skewMs: number) {
  const metrics = createMetrics({ defaultMetrics: false });
  const logger = createLogger("silent");
  const warn = vi.spyOn(logger, "warn");
  const error = vi.spyOn(logger, "error");
  const monitor = startClockDriftMonitor({ firestore: db, metrics, logger, now: () => Date.now() + skewMs });
  const gauge = async () =>
    (await metrics.registry.getSingleMetric("firebrick_lock_clock_drift_ms")?.get())?.values[0]?.value;
  return { monitor, gauge, warn, error };
}

describe("the clock drift monitor", () => {
  it("reports a synchronised clock near 0 ms in the gauge and passes readiness", async () => {
    const { monitor, gauge, warn } = monitorFor(0);
    try {
      await vi.waitFor(() => expect(monitor.latest()).toBeDefined(), { timeout: 10_000 });
      const drift = monitor.latest()!;
      expect(Math.abs(drift.driftMs)).toBeLessThanOrEqual(drift.uncertaintyMs + 50);
      expect(await gauge()).toBe(drift.driftMs);
      await expect(monitor.readiness.check()).resolves.toBeUndefined();
      expect(warn).not.toHaveBeenCalled();
    } finally {
      monitor.stop();
    }
  });

  it("warns from ±200 ms and still passes readiness below ±500 ms", async () => {
    const { monitor, gauge, warn } = monitorFor(-320);
    try {
      await vi.waitFor(() => expect(monitor.latest()).toBeDefined(), { timeout: 10_000 });
      const drift = monitor.latest()!;
      expect(drift.level).toBe("warn");
      expect(Math.abs(drift.driftMs + 320)).toBeLessThanOrEqual(drift.uncertaintyMs + 50);
      expect(await gauge()).toBe(drift.driftMs);
      expect(warn).toHaveBeenCalledWith(
        expect.objectContaining({ drift_ms: drift.driftMs }),
        expect.stringMatching(/clock drift against Firestore/),
      );
      await expect(monitor.readiness.check()).resolves.toBeUndefined();
    } finally {
      monitor.stop();
    }
  });

  it("fails readiness from ±500 ms, naming the drift and the limit", async () => {
    const { monitor, error } = monitorFor(900);
    try {
      await expect(monitor.readiness.check()).rejects.toThrow(
        /clock is \d+ ms off Firestore's \(limit ±500 ms\): client-time locks are unsafe/,
      );
      expect(monitor.latest()?.level).toBe("block");
      expect(error).toHaveBeenCalled();
    } finally {
      monitor.stop();
    }
  });
});

describe("the server's clock drift wiring", () => {
  const env = (timeAuthority: string) => ({
    FIRESTORE_EMULATOR_HOST: emulatorHost(),
    GOOGLE_CLOUD_PROJECT: uniqueProjectId("drift-server"),
    FIREBRICK_LOCK_TIME_AUTHORITY: timeAuthority,
  });

  it("with client-time locks, gates /readyz on the drift and exports the gauge", async () => {
    const { url, close } = await startTestServer(env("client"));
    try {
      const ready = (await (await fetch(`${url}/readyz`)).json()) as {
        checks: Record<string, { status: string }>;
      };
      expect(ready.checks["lock-clock"]).toEqual({ status: "ok" });
      await vi.waitFor(async () => {
        expect(await (await fetch(`${url}/metrics`)).text()).toMatch(
          /^firebrick_lock_clock_drift_ms -?\d+$/m,
        );
      });
    } finally {
      await close();
    }
  });

  it("with server-time locks (the default), exports the gauge but does not gate readiness on it", async () => {
    const { url, close } = await startTestServer(env("server"));
    try {
      const ready = (await (await fetch(`${url}/readyz`)).json()) as { checks: Record<string, unknown> };
      expect(ready.checks).not.toHaveProperty("lock-clock");
      await vi.waitFor(async () => {
        expect(await (await fetch(`${url}/metrics`)).text()).toMatch(
          /^firebrick_lock_clock_drift_ms -?\d+$/m,
        );
      });
    } finally {
      await close();
    }
  });
});
