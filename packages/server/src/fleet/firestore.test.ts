import { emulatorClient, uniqueProjectId } from "../../../../test/firestore.js";
import { createFirestoreFleetState } from "./firestore.js";
import { describeFleetContract } from "./testing/contract.js";

describeFleetContract("service-wide state on Firestore (two clients of one project)", async (clock) => {
  const project = uniqueProjectId("fleet");
  const first = emulatorClient(project);
  const second = emulatorClient(project);
  return {
    a: createFirestoreFleetState(first, { clock }),
    b: createFirestoreFleetState(second, { clock }),
    async close() {
      await Promise.all([first.terminate(), second.terminate()]);
    },
  };
});
