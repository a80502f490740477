import { emulatorClient, uniqueProjectId } from "../../../../test/firestore.js";
import { createFirestoreAlarmsStore } from "./firestore.js";
import { describeAlarmsContract } from "./testing/contract.js";

describeAlarmsContract("alarms on Firestore (two clients of one project)", async (clock) => {
  const project = uniqueProjectId("alarms");
  const first = emulatorClient(project);
  const second = emulatorClient(project);
  return {
    a: createFirestoreAlarmsStore(first, { clock }),
    b: createFirestoreAlarmsStore(second, { clock }),
    async close() {
      await Promise.all([first.terminate(), second.terminate()]);
    },
  };
});
