import { GrpcStatus } from "@firebrick/lock/firestore";
import { describe, expect, it } from "vitest";
import { StoreConflictError, StoreUnavailableError } from "../types.js";
import { translateFirestoreError } from "./context.js";

const failure = (code: number) => Object.assign(new Error(`grpc ${code}`), { code });

describe("translateFirestoreError", () => {
  it("reads failures in the one vocabulary: whatever is worth a retry, INTERNAL included, is StoreUnavailableError", () => {
    for (const status of [
      "UNAVAILABLE",
      "RESOURCE_EXHAUSTED",
      "DEADLINE_EXCEEDED",
      "ABORTED",
      "INTERNAL",
    ] as const) {
      const error = failure(GrpcStatus[status]);
      const translated = translateFirestoreError(error);
      expect(translated, status).toBeInstanceOf(StoreUnavailableError);
      expect((translated as Error).cause).toBe(error);
    }
  });

  it("turns ALREADY_EXISTS into a conflict and lets permanent answers through untouched", () => {
    expect(translateFirestoreError(failure(GrpcStatus.ALREADY_EXISTS), "username taken")).toMatchObject({
      name: "StoreConflictError",
      message: "username taken",
    });
    expect(translateFirestoreError(failure(GrpcStatus.ALREADY_EXISTS))).toBeInstanceOf(StoreConflictError);
    const denied = failure(GrpcStatus.PERMISSION_DENIED);
    expect(translateFirestoreError(denied)).toBe(denied);
    // The message text never decides.
    const text = new Error("14 UNAVAILABLE: connection refused");
    expect(translateFirestoreError(text)).toBe(text);
  });
});
