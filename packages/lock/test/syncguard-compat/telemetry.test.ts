// Behaviours of SyncGuard's `withTelemetry(backend, { onEvent, includeRaw })` (its
// test/unit/common/telemetry.test.ts): exactly its events, hashed ids, raw ones on request, failure reasons.
import { decorateAcquireResult, hashKey, type LockEvent, withTelemetry } from "@firebrick/lock";
import { FAILURE_REASON } from "@firebrick/lock/common";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { type Fencing, serverCapabilities, spyBackend } from "./backends.js";

let backend: ReturnType<typeof spyBackend>;
let events: LockEvent[];
const onEvent = (event: LockEvent) => events.push(event);
beforeEach(() => {
  backend = spyBackend();
  events = [];
});

describe("withTelemetry(backend, { onEvent })", () => {
  it("reports an acquire, and a contended one with reason 'locked'", async () => {
    const observed = withTelemetry(backend, { onEvent });
    expect((await observed.acquire({ key: "test-key", ttlMs: 30_000 })).ok).toBe(true);
    vi.mocked(backend.acquire).mockResolvedValueOnce(
      decorateAcquireResult<Fencing>(backend.ops, { ok: false, reason: "locked" }, "test-key"),
    );
    expect((await observed.acquire({ key: "test-key", ttlMs: 30_000 })).ok).toBe(false);
    expect(events).toEqual([
      { type: "acquire", keyHash: hashKey("test-key"), result: "ok" },
      { type: "acquire", keyHash: hashKey("test-key"), result: "fail", reason: "locked" },
    ]);
  });

  it("reports release and extend by lockId hash, with the reason a backend attached to a refusal", async () => {
    const observed = withTelemetry(backend, { onEvent });
    await observed.release({ lockId: "test-lock-id" });
    const expired = { ok: false as const };
    (expired as Record<symbol, unknown>)[FAILURE_REASON] = { reason: "expired" };
    backend.ops.release.mockResolvedValueOnce(expired);
    await observed.release({ lockId: "test-lock-id" });
    const notFound = { ok: false as const };
    (notFound as Record<symbol, unknown>)[FAILURE_REASON] = { reason: "not-found" };
    backend.ops.extend.mockResolvedValueOnce(notFound);
    await observed.extend({ lockId: "test-lock-id", ttlMs: 30_000 });
    const lockIdHash = hashKey("test-lock-id");
    expect(events).toEqual([
      { type: "release", lockIdHash, result: "ok" },
      { type: "release", lockIdHash, result: "fail", reason: "expired" },
      { type: "extend", lockIdHash, result: "fail", reason: "not-found" },
    ]);
  });

  it("reports isLocked (ok when locked) and lookup by key and by lockId", async () => {
    const observed = withTelemetry(backend, { onEvent });
    await observed.isLocked({ key: "test-key" });
    vi.mocked(backend.isLocked).mockResolvedValueOnce(false);
    await observed.isLocked({ key: "test-key" });
    await observed.lookup({ key: "test-key" });
    await observed.lookup({ lockId: "test-lock-id" });
    expect(events).toEqual([
      { type: "isLocked", keyHash: hashKey("test-key"), result: "ok" },
      { type: "isLocked", keyHash: hashKey("test-key"), result: "fail" },
      { type: "lookup", keyHash: hashKey("test-key"), result: "fail" },
      { type: "lookup", lockIdHash: hashKey("test-lock-id"), result: "fail" },
    ]);
  });

  it("adds the raw key and lockId only when includeRaw allows, per event with a predicate", async () => {
    await withTelemetry(backend, { onEvent, includeRaw: true }).acquire({ key: "test-key", ttlMs: 1000 });
    await withTelemetry(backend, { onEvent }).acquire({ key: "test-key", ttlMs: 1000 });
    const includeRaw = vi.fn((event: LockEvent) => event.type === "release");
    const predicated = withTelemetry(backend, { onEvent, includeRaw });
    await predicated.acquire({ key: "test-key", ttlMs: 1000 });
    await predicated.release({ lockId: "test-lock-id" });
    expect(events.map(({ key, lockId }) => ({ key, lockId }))).toEqual([
      { key: "test-key", lockId: "test-lock-id" },
      { key: undefined, lockId: undefined },
      { key: undefined, lockId: undefined },
      { key: undefined, lockId: "test-lock-id" },
    ]);
    expect(includeRaw).toHaveBeenCalledTimes(2);
  });

  it("redacts when the includeRaw predicate throws, and never lets onEvent break an operation", async () => {
    const raising = withTelemetry(backend, {
      onEvent,
      includeRaw: () => {
        throw new Error("Predicate error");
      },
    });
    expect((await raising.acquire({ key: "test-key", ttlMs: 1000 })).ok).toBe(true);
    expect(events[0]?.key).toBeUndefined();
    const failing = vi.fn(() => {
      throw new Error("Telemetry error");
    });
    const observed = withTelemetry(backend, { onEvent: failing });
    await observed.acquire({ key: "test", ttlMs: 1000 });
    await observed.release({ lockId: "test" });
    await observed.extend({ lockId: "test", ttlMs: 1000 });
    await observed.isLocked({ key: "test" });
    await observed.lookup({ key: "test" });
    expect(failing).toHaveBeenCalledTimes(5);
  });

  it("keeps the backend's capabilities", () => {
    expect(withTelemetry(backend, { onEvent }).capabilities).toEqual(serverCapabilities);
  });
});
