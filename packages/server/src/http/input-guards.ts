import type { FastifyInstance } from "fastify";
import { AppError } from "../errors.js";

// With the `u` flag a surrogate pair is one code point: only unpaired halves match.
const UNPAIRED_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Rules of every route's input that JSON Schema cannot state (docs/design/api.md), each a 400
 * `VALIDATION_FAILED` instead of a store's 500:
 * - text is well-formed Unicode: an unpaired surrogate (`"\ud800"` in JSON) makes Firestore fail the RPC,
 *   and SQLite would store U+FFFD in its place;
 * - a number read from the query string or path is finite: the validator coerces `"Infinity"` to a
 *   number and then skips `minimum`/`maximum`, which it applies to finite numbers only.
 */
export function guardInputs(app: FastifyInstance): void {
  app.addHook("preValidation", async (request) => {
    if (holdsMalformed(request.params) || holdsMalformed(request.query) || holdsMalformed(request.body)) {
      throw new AppError("VALIDATION_FAILED", "Text must be well-formed Unicode (no unpaired surrogates).");
    }
  });
  app.addHook("preHandler", async (request) => {
    for (const parameters of [request.query, request.params]) {
      if (typeof parameters !== "object" || parameters === null) continue;
      for (const [name, value] of Object.entries(parameters)) {
        if (typeof value === "number" && !Number.isFinite(value)) {
          throw new AppError("VALIDATION_FAILED", `${name} must be a finite number`);
        }
      }
    }
  });
}

function holdsMalformed(value: unknown): boolean {
  if (typeof value === "string") return UNPAIRED_SURROGATE.test(value);
  if (typeof value !== "object" || value === null) return false;
  if (Array.isArray(value)) return value.some(holdsMalformed);
  for (const key in value) {
    if (UNPAIRED_SURROGATE.test(key) || holdsMalformed((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}
