import type { Firestore } from "@google-cloud/firestore";
import { afterAll } from "vitest";
import { emulatorClient, testFirestore } from "../../../test/firestore.js";
import { createFirestoreBackend, createFirestoreLockAdmin, fenceDocumentId } from "../src/firestore/index.js";
import { describeLockBackendContract, TestClock } from "./contract.js";

const clients: Firestore[] = [];
afterAll(async () => {
  await Promise.all(clients.map((db) => db.terminate()));
});

for (const concurrency of ["optimistic", "pessimistic"] as const) {
  describeLockBackendContract(`Firestore (${concurrency})`, async () => {
    const clock = new TestClock();
    const db = testFirestore(`lock-contract-${concurrency}`);
    clients.push(db);
    const quiet = { warn() {} };
    return {
      clock,
      backend: createFirestoreBackend(db, { now: clock.now, logger: quiet, concurrency }),
      admin: createFirestoreLockAdmin(db, { now: clock.now }),
      async open(overrides = {}) {
        // A separate client on the same project: another process, or this one after a restart.
        const other = emulatorClient(db.projectId);
        clients.push(other);
        return createFirestoreBackend(other, { now: clock.now, logger: quiet, concurrency, ...overrides });
      },
      async seedFence(key, fence) {
        await db
          .collection("fence_counters")
          .doc(fenceDocumentId(key.normalize("NFC")))
          .set({ fence });
      },
    };
  });
}
