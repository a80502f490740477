import { emulatorClient, uniqueProjectId } from "../../../../test/firestore.js";
import { createFirestoreAlarmsStore } from "../alarms/firestore.js";
import { createFirestoreWebhooksStore } from "./firestore.js";
import { describeWebhooksContract } from "./testing/contract.js";

describeWebhooksContract("webhooks on Firestore (two clients of one project)", async (clock) => {
  const project = uniqueProjectId("webhooks");
  const [first, second] = [emulatorClient(project), emulatorClient(project)];
  return {
    a: {
      alarms: createFirestoreAlarmsStore(first, { clock }),
      webhooks: createFirestoreWebhooksStore(first, { clock }),
    },
    b: {
      alarms: createFirestoreAlarmsStore(second, { clock }),
      webhooks: createFirestoreWebhooksStore(second, { clock }),
    },
    async close() {
      await Promise.all([first.terminate(), second.terminate()]);
    },
  };
});
