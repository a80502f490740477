import { FieldValue } from "@google-cloud/firestore";
import { afterAll, describe, expect, it } from "vitest";
import { testFirestore } from "./firestore.js";

describe("the Firestore emulator harness", () => {
  const db = testFirestore("harness");
  afterAll(() => db.terminate());

  it("writes a document through @google-cloud/firestore and reads it back", async () => {
    const ref = db.collection("harness").doc("probe");
    await ref.set({ hello: "world", at: FieldValue.serverTimestamp() });
    const snapshot = await ref.get();
    expect(snapshot.exists).toBe(true);
    expect(snapshot.get("hello")).toBe("world");
  });

  it("gives each client its own project, so tests cannot see each other's data", async () => {
    const other = testFirestore("harness");
    try {
      await db.collection("harness").doc("mine").set({ n: 1 });
      expect((await other.collection("harness").doc("mine").get()).exists).toBe(false);
    } finally {
      await other.terminate();
    }
  });
});
