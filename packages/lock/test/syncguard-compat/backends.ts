import {
  type AcquireResult,
  type BackendCapabilities,
  decorateAcquireResult,
  type ExtendResult,
  type LockBackend,
  type ReleaseResult,
} from "@firebrick/lock";
import { vi } from "vitest";

/** SyncGuard's unit tests run `lock()` and the decorators on hand-made backends; these are ours. */
export type Fencing = BackendCapabilities & { supportsFencing: true };

export const serverCapabilities: Fencing = { supportsFencing: true, timeAuthority: "server" };

export function okResult(lockId = "test-lock-id", fence = "000000000000001"): AcquireResult<Fencing> {
  return { ok: true, lockId, expiresAtMs: Date.now() + 30_000, fence };
}

/** `release`/`extend` spies answering ok, as SyncGuard's tests build them. */
export function handleOps() {
  return {
    release: vi.fn(
      async (_opts: { lockId: string; signal?: AbortSignal }): Promise<ReleaseResult> => ({ ok: true }),
    ),
    extend: vi.fn(
      async (_opts: { lockId: string; ttlMs: number; signal?: AbortSignal }): Promise<ExtendResult> => ({
        ok: true,
        expiresAtMs: Date.now() + 30_000,
      }),
    ),
  };
}

/** A backend whose acquire succeeds with a decorated result; every method is a spy. */
export function spyBackend(): LockBackend<Fencing> & { ops: ReturnType<typeof handleOps> } {
  const ops = handleOps();
  return {
    ops,
    acquire: vi.fn(async (opts: { key: string }) =>
      decorateAcquireResult<Fencing>(ops, okResult(), opts.key),
    ),
    release: ops.release,
    extend: ops.extend,
    isLocked: vi.fn(async () => true),
    lookup: vi.fn(async () => null),
    capabilities: serverCapabilities,
  } as LockBackend<Fencing> & { ops: ReturnType<typeof handleOps> };
}
