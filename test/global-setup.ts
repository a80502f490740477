import type { TestProject } from "vitest/node";
import {
  type EmulatorLocation,
  EmulatorUnavailableError,
  locateEmulator,
  startFirestoreEmulator,
} from "../packages/server/src/firestore/emulator.js";

declare module "vitest" {
  export interface ProvidedContext {
    firestoreEmulatorHost: string;
    /** Java and the jar, for the tests that start an emulator of their own (outages, restarts). */
    firestoreEmulatorLocation: EmulatorLocation;
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
    // The harness is the edge here: it reads the test run's own environment.
    location = locateEmulator({ java: process.env.JAVA, jar: process.env.FIRESTORE_EMULATOR_JAR });
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
  project.provide("firestoreEmulatorLocation", location);
  return () => emulator.stop();
}
