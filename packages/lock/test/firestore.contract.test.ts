import type { Firestore } from "@google-cloud/firestore";
import { afterAll } from "vitest";
import { emulatorClient, testFirestore } from "../../../test/firestore.js";
import { createFirestoreBackend, createFirestoreLockAdmin, fenceDocumentId } from "../src/firestore/index.js";
import { describeLockBackendContract, TestClock } from "./contract.js";

const clients: Firestore[] = [];
afterAll(async () => {
  await Promise.all(clients.map((db) => db.terminate()));
});

for (const timeAuthority of ["server", "client"] as const) {
  for (const concurrency of ["optimistic", "pessimistic"] as const) {
    describeLockBackendContract(`Firestore (${timeAuthority} time, ${concurrency})`, async () => {
      const clock = new TestClock();
      const db = testFirestore(`lock-contract-${timeAuthority}-${concurrency}`);
      clients.push(db);
      const quiet = { warn() {} };
      // Server time judges by Firestore's read times, which the test clock stands in for (see TestClock).
      const clocks = { now: clock.now, serverClock: clock.serverClock };
      const options = { timeAuthority, concurrency, logger: quiet, ...clocks };
      return {
        clock,
        timeAuthority,
        backend: createFirestoreBackend(db, options),
        admin: createFirestoreLockAdmin(db, { timeAuthority, ...clocks }),
        async open(overrides = {}) {
          // A separate client on the same project: another process, or this one after a restart.
          const other = emulatorClient(db.projectId);
          clients.push(other);
          return createFirestoreBackend(other, { ...options, ...overrides });
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
}
