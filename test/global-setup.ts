import type { TestProject } from "vitest/node";
import {
  EmulatorUnavailableError,
  locateEmulator,
  startFirestoreEmulator,
} from "../packages/server/src/firestore/emulator.js";

declare module "vitest" {
  export interface ProvidedContext {
    firestoreEmulatorHost: string;
  }
}

/**
 * One Firestore emulator for the whole run; each test file takes its own project id (see
 * `test/firestore.ts`). The Firestore suites never skip: without Java or the jar the run stops here
 * with one line that says what is missing.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let location: ReturnType<typeof locateEmulator>;
  try {
    location = locateEmulator();
  } catch (error) {
    if (error instanceof EmulatorUnavailableError) {
      process.stderr.write(`\nFirestore test suites cannot run: ${error.message}\n\n`);
      process.exit(1);
    }
    throw error;
  }
  const emulator = await startFirestoreEmulator({ location });
  process.env.FIRESTORE_EMULATOR_HOST = emulator.hostPort;
  project.provide("firestoreEmulatorHost", emulator.hostPort);
  return () => emulator.stop();
}
