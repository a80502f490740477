import { GrpcStatus } from "@firebrick/lock/firestore";
import type { Firestore } from "@google-cloud/firestore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emulatorClient, emulatorLocation, uniqueProjectId } from "../../../../test/firestore.js";
import { type RunningEmulator, startFirestoreEmulator } from "../firestore/emulator.js";
import { createFirestoreStores } from "./index.js";
import {
  type BreakerState,
  CircuitOpenError,
  firestoreCallSettings,
  retryOfStoreFailure,
  withResilience,
} from "./resilience.js";
import { StoreConflictError, StoreUnavailableError } from "./types.js";
import { UsageTally } from "./usage.js";

/** A manual clock: breaker cool-downs are crossed by moving it, never by sleeping. */
function manualClock(start = 1_700_000_000_000) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

function grpcError(code: number): Error {
  return Object.assign(new Error(`grpc ${code}`), { code });
}

/**
 * An endpoint whose answers are scripted: each call takes the next outcome. This is the input the
 * decorator wraps (any object of async methods), used to pin down the policy code by code; the
 * Firestore suite below checks the same policy against the real SDK and emulator.
 */
function scripted(outcomes: (Error | string)[]) {
  const calls: string[] = [];
  return {
    calls,
    store: {
      telemetry: {
        async latest(tenant: string): Promise<string> {
          calls.push(tenant);
          const next = outcomes.shift() ?? "ok";
          if (next instanceof Error) throw next;
          return next;
        },
      },
      users: {
        async create(tenant: string): Promise<string> {
          calls.push(tenant);
          const next = outcomes.shift() ?? "ok";
          if (next instanceof Error) throw next;
          return next;
        },
      },
    },
  };
}

const instant = async () => {};

describe("the retry policy", () => {
  it("classifies failures by gRPC status code, including a store's wrapped cause", () => {
    expect(retryOfStoreFailure(grpcError(GrpcStatus.UNAVAILABLE))).toBe("safe");
    expect(retryOfStoreFailure(grpcError(GrpcStatus.RESOURCE_EXHAUSTED))).toBe("safe");
    expect(retryOfStoreFailure(grpcError(GrpcStatus.DEADLINE_EXCEEDED))).toBe("if_idempotent");
    expect(retryOfStoreFailure(grpcError(GrpcStatus.ABORTED))).toBe("if_idempotent");
    expect(retryOfStoreFailure(grpcError(GrpcStatus.PERMISSION_DENIED))).toBe("never");
    expect(retryOfStoreFailure(grpcError(GrpcStatus.INVALID_ARGUMENT))).toBe("never");
    expect(retryOfStoreFailure(new StoreConflictError("taken"))).toBe("never");
    expect(
      retryOfStoreFailure(new StoreUnavailableError("down", { cause: grpcError(GrpcStatus.UNAVAILABLE) })),
    ).toBe("safe");
    // The message text never decides.
    expect(retryOfStoreFailure(new Error("14 UNAVAILABLE: connection refused"))).toBe("never");
  });

  it("retries transient failures with growing, jittered delays and returns the eventual answer", async () => {
    const { store, calls } = scripted([grpcError(14), grpcError(4), grpcError(14), "answer"]);
    const delays: number[] = [];
    const wrapped = withResilience(store, {
      maxRetries: 3,
      baseDelayMs: 100,
      maxDelayMs: 10_000,
      random: () => 0.5,
      sleep: async (ms) => void delays.push(ms),
      failureThreshold: 10,
    });
    await expect(wrapped.telemetry.latest("acme")).resolves.toBe("answer");
    expect(calls).toHaveLength(4);
    expect(delays).toEqual([50, 100, 200]);
  });

  it("gives up after maxRetries with a StoreUnavailableError that keeps the cause", async () => {
    const { store, calls } = scripted([grpcError(14), grpcError(14), grpcError(14), "late"]);
    const wrapped = withResilience(store, { maxRetries: 2, sleep: instant, failureThreshold: 10 });
    const error = await wrapped.telemetry.latest("acme").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toContain("UNAVAILABLE");
    expect(((error as Error).cause as { code: number }).code).toBe(14);
    expect(calls).toHaveLength(3);
  });

  it("passes permanent errors through at once, unretried", async () => {
    const conflict = new StoreConflictError("username taken");
    const { store, calls } = scripted([conflict]);
    const wrapped = withResilience(store, { sleep: instant });
    await expect(wrapped.users.create("acme")).rejects.toBe(conflict);
    expect(calls).toHaveLength(1);
  });

  it("does not repeat a non-idempotent call whose outcome is unknown, but does when it surely did not run", async () => {
    const unknown = scripted([grpcError(GrpcStatus.DEADLINE_EXCEEDED), "created"]);
    await expect(
      withResilience(unknown.store, { sleep: instant }).users.create("acme"),
    ).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(unknown.calls).toHaveLength(1);

    const refused = scripted([grpcError(GrpcStatus.UNAVAILABLE), "created"]);
    await expect(withResilience(refused.store, { sleep: instant }).users.create("acme")).resolves.toBe(
      "created",
    );
    expect(refused.calls).toHaveLength(2);
  });

  it("bounds a call that never answers by the attempt deadline, and can wait for abandoned calls", async () => {
    let finish: () => void = () => {};
    const late = new Promise<string>((resolve) => {
      finish = () => resolve("late");
    });
    const wrapped = withResilience(
      { telemetry: { latest: () => late } },
      { attemptTimeoutMs: 20, maxRetries: 1, sleep: instant },
    );
    const error = await wrapped.telemetry.latest().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toContain("did not answer within 20 ms");

    let drained = false;
    const draining = wrapped.resilience.drain().then(() => {
      drained = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(drained).toBe(false);
    finish();
    await draining;
    expect(drained).toBe(true);
  });

  it("opens one endpoint's breaker after consecutive failures, fails fast, then probes and closes", async () => {
    const clock = manualClock();
    const failures = Array.from({ length: 3 }, () => grpcError(14));
    const { store, calls } = scripted([...failures, "recovered"]);
    const states: string[] = [];
    const rejected: string[] = [];
    const wrapped = withResilience(store, {
      maxRetries: 0,
      failureThreshold: 3,
      openMs: 5_000,
      clock: clock.now,
      sleep: instant,
      onStateChange: (endpoint, state) => states.push(`${endpoint}:${state}`),
      onRejected: (endpoint) => rejected.push(endpoint),
    });
    for (let i = 0; i < 3; i++) await wrapped.telemetry.latest("acme").catch(() => {});
    expect(wrapped.resilience.breakerState("telemetry.latest")).toBe("open");
    expect(wrapped.resilience.breakerState("users.create")).toBe("closed");

    const refused = await wrapped.telemetry.latest("acme").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CircuitOpenError);
    expect(refused).toBeInstanceOf(StoreUnavailableError);
    expect((refused as CircuitOpenError).retryAfterMs).toBe(5_000);
    expect(calls).toHaveLength(3); // the refused call never reached the backend
    expect(rejected).toEqual(["telemetry.latest"]);

    clock.advance(5_000);
    await expect(wrapped.telemetry.latest("acme")).resolves.toBe("recovered");
    expect(wrapped.resilience.breakerState("telemetry.latest")).toBe("closed");
    expect(states).toEqual([
      "telemetry.latest:open",
      "telemetry.latest:half_open",
      "telemetry.latest:closed",
    ]);
  });

  it("re-opens the breaker when the half-open probe fails", async () => {
    const clock = manualClock();
    const { store } = scripted([grpcError(14), grpcError(14)]);
    const wrapped = withResilience(store, {
      maxRetries: 0,
      failureThreshold: 1,
      openMs: 1_000,
      clock: clock.now,
      sleep: instant,
    });
    await wrapped.telemetry.latest("a").catch(() => {});
    clock.advance(1_000);
    await expect(wrapped.telemetry.latest("a")).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(wrapped.resilience.breakerState("telemetry.latest")).toBe("open");
    await expect(wrapped.telemetry.latest("a")).rejects.toBeInstanceOf(CircuitOpenError);
  });
});

describe("Firestore stores under withResilience, when the emulator stops and comes back", () => {
  let emulator: RunningEmulator;
  let db: Firestore;
  const clock = manualClock(Date.now());
  const states: string[] = [];
  let stores: ReturnType<typeof makeStores>;
  const usage = new UsageTally();

  function makeStores() {
    return withResilience(createFirestoreStores(db, { usage }), {
      backend: "firestore",
      // Generous: under a full parallel test run the emulator's first answers are slow, and a healthy
      // call must never hit the deadline. A stopped emulator costs this much per attempt.
      attemptTimeoutMs: 5_000,
      maxRetries: 1,
      failureThreshold: 2,
      openMs: 30_000,
      clock: clock.now,
      sleep: instant,
      onStateChange: (endpoint: string, state: BreakerState) => states.push(`${endpoint}:${state}`),
    });
  }

  beforeAll(async () => {
    emulator = await startFirestoreEmulator({ location: emulatorLocation() });
    db = emulatorClient(
      uniqueProjectId("resilience"),
      emulator.hostPort,
      firestoreCallSettings({ timeoutMs: 5_000 }),
    );
    // Opens the gRPC channel outside the policy under test.
    await db.collection("warm-up").limit(1).get();
    stores = makeStores();
  }, 60_000);

  afterAll(async () => {
    // The SDK still retries the calls abandoned during the outage; terminating under them would
    // surface as unhandled rejections.
    await stores?.resilience.drain();
    await db?.terminate();
    await emulator?.stop();
  }, 90_000);

  it("passes calls through while Firestore answers", async () => {
    const now = Date.now();
    await stores.telemetry.append("acme", "d1", [{ timestamp_ms: now - 1000, metrics: { t: 21 } }]);
    const points = await stores.telemetry.latest("acme", "d1", 10);
    expect(points.map((p) => p.metrics.t)).toEqual([21]);
    expect(stores.resilience.breakerState("telemetry.latest")).toBe("closed");
  });

  it("fails with StoreUnavailableError instead of hanging, opens the breaker, and then fails fast", async () => {
    await emulator.stop();

    const first = await stores.telemetry.latest("acme", "d1", 10).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(StoreUnavailableError);
    expect(stores.resilience.breakerState("telemetry.latest")).toBe("open");

    const fast = await stores.telemetry.latest("acme", "d1", 10).catch((e: unknown) => e);
    expect(fast).toBeInstanceOf(CircuitOpenError);
    // Breakers are per endpoint: devices.get has not failed yet, so it is still closed.
    expect(stores.resilience.breakerState("devices.get")).toBe("closed");
  }, 60_000);

  it("recovers once the emulator is back on the same port and the breaker's wait is over", async () => {
    const port = Number(emulator.hostPort.split(":")[1]);
    emulator = await startFirestoreEmulator({ location: emulatorLocation(), port });
    clock.advance(30_000);

    // The gRPC channel reconnects with its own backoff; the half-open probe may meet it still
    // reconnecting, so each later probe gets its own wait, until Firestore answers again.
    let answered = false;
    const giveUpAt = Date.now() + 90_000;
    while (!answered && Date.now() < giveUpAt) {
      try {
        await stores.telemetry.latest("acme", "d1", 10);
        answered = true;
      } catch (error) {
        expect(error).toBeInstanceOf(StoreUnavailableError);
        clock.advance(30_000);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
    expect(answered).toBe(true);
    expect(stores.resilience.breakerState("telemetry.latest")).toBe("closed");
    expect(states).toContain("telemetry.latest:half_open");
    expect(states.at(-1)).toBe("telemetry.latest:closed");
  }, 120_000);
});
