import { Firestore } from "@google-cloud/firestore";
import type { Config } from "../config/env.js";

/**
 * The one Firestore client factory: the emulator when `FIRESTORE_EMULATOR_HOST` is set (the SDK reads
 * it), Application Default Credentials otherwise.
 */
export function createFirestoreClient(config: Config): Firestore {
  return new Firestore({
    // The emulator accepts any project id; a real project must be named.
    projectId: config.firestore.projectId ?? "demo-firebrick",
    ignoreUndefinedProperties: true,
  });
}
