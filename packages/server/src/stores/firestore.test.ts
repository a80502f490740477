import { Timestamp } from "@google-cloud/firestore";
import { describe, expect, it } from "vitest";
import { testFirestore } from "../../../../test/firestore.js";
import { auditDocumentId } from "./firestore/audit.js";
import { translateFirestoreError } from "./firestore/context.js";
import { createFirestoreStores } from "./firestore/index.js";
import { usernameGuardId } from "./firestore/users.js";
import { telemetryPointId, usernameKey } from "./keys.js";
import { CHANGES_MARGIN_MS, describeStoresContract, type MakeStores } from "./testing/contract.js";
import { describeTrendsContract } from "./testing/trends-contract.js";
import { StoreConflictError, StoreUnavailableError } from "./types.js";
import { UsageTally } from "./usage.js";

/** A TTL field must be a Firestore Timestamp, or TTL never deletes the document. */
function ttlMillis(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Timestamp)) throw new Error(`TTL field is not a Timestamp: ${String(value)}`);
  return value.toMillis();
}

// Each describe block of the suite gets a fresh project (docs/design/testing.md).
const firestoreStores: MakeStores = async (clock) => {
  const db = testFirestore("stores");
  const tally = new UsageTally();
  // `changes` re-reads what was written this long before its last read; the suite waits it out.
  const stores = createFirestoreStores(db, { clock, usage: tally, writeTimeMarginMs: CHANGES_MARGIN_MS });
  return {
    stores,
    tally,
    storedExpiry: {
      telemetry: async (tenant, deviceId, timestampMs) =>
        ttlMillis(
          (
            await db
              .collection("telemetry")
              .doc(telemetryPointId(tenant, deviceId, timestampMs))
              .get()
          ).get("expire_at"),
        ),
      audit: async (tenant, entryId) =>
        ttlMillis(
          (await db.collection("audit_log").doc(auditDocumentId(tenant, entryId)).get()).get("expire_at"),
        ),
      session: async (id) => ttlMillis((await db.collection("sessions").doc(id).get()).get("expires_at")),
    },
    close: async () => {
      // Held-back rollup updates are written before the client goes (as the server does on shutdown).
      await stores.telemetry.flush();
      await db.terminate();
    },
  };
};

describeStoresContract("Firestore stores", "firestore", firestoreStores);
describeTrendsContract("Firestore stores", "firestore", firestoreStores);

describe("Firestore stores specifics", () => {
  it("writes the username guard with the user and removes it with the user", async () => {
    const db = testFirestore("guard");
    const stores = createFirestoreStores(db);
    const user = await stores.users.create("acme", {
      username: "Ops/Team",
      role: "admin",
      password_hash: "$argon2id$x",
      algo_params: { algorithm: "argon2id", m: 65536, t: 3, p: 1 },
    });
    const guard = db.collection("usernames").doc(usernameGuardId("acme", usernameKey("ops/team")));
    expect((await guard.get()).data()).toEqual({
      tenant_id: "acme",
      username_key: "ops/team",
      user_id: user.id,
    });
    await stores.users.delete("acme", user.id);
    expect((await guard.get()).exists).toBe(false);
    await db.terminate();
  });

  it("gives telemetry documents hashed, non-adjacent ids and the fields of docs/design/stores.md", async () => {
    const db = testFirestore("telemetry-shape");
    const stores = createFirestoreStores(db);
    await stores.telemetry.append("acme", "d1", [
      { timestamp_ms: 1_000, metrics: { v: 1 } },
      { timestamp_ms: 1_001, metrics: { v: 2 } },
    ]);
    const ids = (await db.collection("telemetry").get()).docs.map((doc) => doc.id);
    expect(ids).toHaveLength(2);
    expect(ids[0]!.slice(0, 8)).not.toBe(ids[1]!.slice(0, 8));
    const data = (
      await db
        .collection("telemetry")
        .doc(telemetryPointId("acme", "d1", 1_000))
        .get()
    ).data();
    expect(data).toEqual({
      tenant_id: "acme",
      device_id: "d1",
      timestamp_ms: 1_000,
      metrics: { v: 1 },
      source: "api",
      expire_at: expect.any(Timestamp),
      written_at: expect.any(Timestamp),
    });
    await db.terminate();
  });

  it("records usage under the firestore backend and the store's area", async () => {
    const db = testFirestore("usage");
    const tally = new UsageTally();
    const stores = createFirestoreStores(db, { usage: tally });
    await stores.devices.get("acme", crypto.randomUUID());
    await stores.audit.query("acme", { limit: 10 });
    expect(Object.fromEntries(tally.byArea)).toEqual({
      "firestore:devices": { reads: 1, writes: 0 },
      "firestore:audit": { reads: 1, writes: 0 },
    });
    await db.terminate();
  });

  it("checks the tenant before touching a session this instance has never seen", async () => {
    const db = testFirestore("touch-cold");
    const id = "a".repeat(64);
    await createFirestoreStores(db).sessions.create({
      id,
      tenant_id: "acme",
      user_id: crypto.randomUUID(),
      created_at: 0,
      last_seen_at: 0,
      expires_at: Date.now() + 3_600_000,
      fingerprint: "f",
      user_agent: null,
      ip: null,
    });
    // Another instance (another server process) knows nothing of the session yet.
    const tally = new UsageTally();
    const other = createFirestoreStores(db, { usage: tally });
    await other.sessions.touch("intruder", id, 5);
    expect((await db.collection("sessions").doc(id).get()).get("last_seen_at")).toBe(0);
    expect(tally).toMatchObject({ reads: 1, writes: 0 });
    await other.sessions.touch("acme", id, 7);
    expect((await db.collection("sessions").doc(id).get()).get("last_seen_at")).toBe(7);
    // Now known: the next touch is a single write.
    tally.reset();
    await other.sessions.touch("acme", id, 9);
    expect(tally).toMatchObject({ reads: 0, writes: 1 });
    await db.terminate();
  });

  it("translates failures by gRPC status code, never by message text", () => {
    const failure = (code: number, message = "boom") => Object.assign(new Error(message), { code });
    for (const code of [4, 8, 10, 14]) {
      expect(translateFirestoreError(failure(code))).toBeInstanceOf(StoreUnavailableError);
    }
    expect(translateFirestoreError(failure(6), "taken")).toEqual(new StoreConflictError("taken"));
    const invalid = failure(3, "14 UNAVAILABLE: looks transient but is not");
    expect(translateFirestoreError(invalid)).toBe(invalid);
    const plain = new Error("UNAVAILABLE");
    expect(translateFirestoreError(plain)).toBe(plain);
  });
});
