import { describe, expect, it } from "vitest";
import { LockError } from "../src/common/errors.js";
import { mapFirestoreError } from "../src/firestore/errors.js";
import {
  classifyFirestoreFailure,
  GrpcStatus,
  isTransientFirestoreFailure,
} from "../src/firestore/failures.js";

const failure = (code: number) => Object.assign(new Error("boom"), { code });

describe("the Firestore failure vocabulary", () => {
  it("retries a refused call always, a call of unknown outcome only when idempotent, and nothing else", () => {
    expect(classifyFirestoreFailure(failure(GrpcStatus.UNAVAILABLE))).toEqual({
      status: "UNAVAILABLE",
      retry: "safe",
    });
    expect(classifyFirestoreFailure(failure(GrpcStatus.RESOURCE_EXHAUSTED)).retry).toBe("safe");
    for (const code of [GrpcStatus.DEADLINE_EXCEEDED, GrpcStatus.ABORTED, GrpcStatus.INTERNAL]) {
      expect(classifyFirestoreFailure(failure(code)).retry).toBe("if_idempotent");
    }
    for (const code of [
      GrpcStatus.ALREADY_EXISTS,
      GrpcStatus.NOT_FOUND,
      GrpcStatus.PERMISSION_DENIED,
      GrpcStatus.FAILED_PRECONDITION,
      GrpcStatus.UNKNOWN,
    ]) {
      expect(isTransientFirestoreFailure(failure(code))).toBe(false);
    }
  });

  it("reads the status of a wrapped error from its cause, and none from an error without a numeric code", () => {
    const wrapped = new Error("store unavailable", { cause: failure(GrpcStatus.UNAVAILABLE) });
    expect(classifyFirestoreFailure(wrapped).status).toBe("UNAVAILABLE");
    expect(classifyFirestoreFailure(Object.assign(new Error("x"), { code: "ECONNRESET" }))).toEqual({
      status: undefined,
      retry: "never",
    });
  });

  it("gives the lock library its error codes from the same statuses", () => {
    expect(mapFirestoreError(failure(GrpcStatus.INTERNAL)).code).toBe("ServiceUnavailable");
    expect(mapFirestoreError(failure(GrpcStatus.DEADLINE_EXCEEDED)).code).toBe("NetworkTimeout");
    expect(mapFirestoreError(failure(GrpcStatus.RESOURCE_EXHAUSTED)).code).toBe("RateLimited");
    expect(mapFirestoreError(failure(GrpcStatus.UNAUTHENTICATED)).code).toBe("AuthFailed");
    expect(mapFirestoreError(failure(GrpcStatus.DATA_LOSS)).code).toBe("Internal");
    const original = new LockError("Aborted");
    expect(mapFirestoreError(original)).toBe(original);
  });
});
