import { hashKey } from "./crypto.js";
import type { BackendCapabilities, LockBackend, LockInfo, LockInfoDebug } from "./types.js";

/**
 * Where a backend keeps the raw key and lockId on a `LockInfo`: a registered symbol (SyncGuard's), stored
 * non-enumerable, so that neither `JSON.stringify` nor a spread nor a log serializer ever sees them.
 */
const RAW_DATA = Symbol.for("syncguard.rawData");

/** Builds the sanitized `LockInfo` (hashed key and lockId) a backend's `lookup()` returns. */
export function sanitizeLockInfo<C extends BackendCapabilities>(
  raw: { key: string; lockId: string; expiresAtMs: number; acquiredAtMs: number; fence?: string },
  capabilities: C,
): LockInfo<C> {
  const info: Record<string, unknown> = {
    keyHash: hashKey(raw.key),
    lockIdHash: hashKey(raw.lockId),
    expiresAtMs: raw.expiresAtMs,
    acquiredAtMs: raw.acquiredAtMs,
  };
  if (capabilities.supportsFencing && raw.fence) info.fence = raw.fence;
  return info as LockInfo<C>;
}

/** Attaches the raw key and lockId to a `LockInfo` for `getByKeyRaw`/`getByIdRaw`; returns the same object. */
export function attachRawData<C extends BackendCapabilities>(
  info: LockInfo<C>,
  raw: { key: string; lockId: string },
): LockInfo<C> {
  Object.defineProperty(info, RAW_DATA, { value: { key: raw.key, lockId: raw.lockId }, enumerable: false });
  return info;
}

/** The live lock on `key`, sanitized, or null: `backend.lookup({ key })`. */
export function getByKey<C extends BackendCapabilities>(
  backend: LockBackend<C>,
  key: string,
  opts?: { signal?: AbortSignal },
): Promise<LockInfo<C> | null> {
  return backend.lookup({ key, ...opts });
}

/** The live lock held by `lockId`, sanitized, or null: `backend.lookup({ lockId })`. */
export function getById<C extends BackendCapabilities>(
  backend: LockBackend<C>,
  lockId: string,
  opts?: { signal?: AbortSignal },
): Promise<LockInfo<C> | null> {
  return backend.lookup({ lockId, ...opts });
}

/** `getByKey` with the raw key and lockId: for debugging, never for logs (a lockId can release the lock). */
export function getByKeyRaw<C extends BackendCapabilities>(
  backend: LockBackend<C>,
  key: string,
  opts?: { signal?: AbortSignal },
): Promise<LockInfoDebug<C> | null> {
  return lookupRaw(backend, { key, ...opts });
}

/** `getById` with the raw key and lockId: for debugging, never for logs. */
export function getByIdRaw<C extends BackendCapabilities>(
  backend: LockBackend<C>,
  lockId: string,
  opts?: { signal?: AbortSignal },
): Promise<LockInfoDebug<C> | null> {
  return lookupRaw(backend, { lockId, ...opts });
}

/**
 * Whether `lockId` holds a live lock right now. Diagnostic only: the answer can be stale by the time it is
 * read, so never `owns() → act`; release and extend check ownership atomically themselves (ADR-003,
 * docs/adr/ADR-003-explicit-ownership-verification.md).
 */
export async function owns<C extends BackendCapabilities>(
  backend: LockBackend<C>,
  lockId: string,
): Promise<boolean> {
  return (await backend.lookup({ lockId })) !== null;
}

async function lookupRaw<C extends BackendCapabilities>(
  backend: LockBackend<C>,
  query: ({ key: string } | { lockId: string }) & { signal?: AbortSignal },
): Promise<LockInfoDebug<C> | null> {
  const info = await backend.lookup(query);
  if (!info) return null;
  const raw = (info as { [RAW_DATA]?: { key: string; lockId: string } })[RAW_DATA];
  if (raw) return { ...info, key: raw.key, lockId: raw.lockId };
  // A backend that attaches nothing: what the query itself names is all there is.
  return "key" in query
    ? { ...info, key: query.key, lockId: "[backend does not provide raw lockId]" }
    : { ...info, key: "[backend does not provide raw key]", lockId: query.lockId };
}
