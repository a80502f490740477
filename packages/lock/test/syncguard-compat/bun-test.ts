// `bun:test` on vitest, for running SyncGuard's own unit tests unchanged (see run-upstream.sh): its test
// files import their framework from `bun:test`, which upstream.vitest.config.ts points here.
import { vi } from "vitest";

export { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, test } from "vitest";

/** bun's `mock(fn)`: a spy (vitest's `vi.fn`). */
export const mock = vi.fn;
/** bun's `spyOn(object, method)`. */
export const spyOn = vi.spyOn;
