import type { DocumentReference } from "@google-cloud/firestore";
import { type FirestoreContext, runBilledTransaction } from "../stores/firestore/context.js";
import type { StoreArea } from "../stores/usage.js";
import { isStale } from "./judge.js";

/**
 * Records `fence` in a job's fence document (alarms/fences.ts), in a transaction; false when a newer one
 * is recorded (nothing written).
 */
export function recordFirestoreFence(
  context: FirestoreContext,
  area: StoreArea,
  reference: DocumentReference,
  fence: string,
): Promise<boolean> {
  return runBilledTransaction(context, area, async (transaction, bill) => {
    const snapshot = await transaction.get(reference);
    bill.read();
    const recorded = snapshot.get("fence") as string | undefined;
    if (isStale(fence, recorded)) return false;
    if (recorded !== fence) {
      transaction.set(reference, { fence });
      bill.write();
    }
    return true;
  });
}
