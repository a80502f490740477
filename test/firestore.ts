import { randomBytes } from "node:crypto";
import { Firestore, type Settings } from "@google-cloud/firestore";
import { inject } from "vitest";

/** The emulator started by the global setup, as `host:port`. */
export function emulatorHost(): string {
  return inject("firestoreEmulatorHost");
}

/** Java and the emulator jar of this run, for a test that starts an emulator of its own. */
export function emulatorLocation() {
  return inject("firestoreEmulatorLocation");
}

/**
 * A project id no other test uses. The emulator keeps projects apart, and a fresh project stays fast
 * where an emptied one slows down (docs/design/testing.md).
 */
export function uniqueProjectId(label = "test"): string {
  const slug = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, 16);
  return `t-${slug}-${randomBytes(5).toString("hex")}`;
}

/**
 * A Firestore client on an emulator (`host:port`, by default the global one) for the given project.
 * `settings` adds client options, e.g. `firestoreCallSettings(...)`.
 */
export function emulatorClient(
  projectId: string,
  hostPort = emulatorHost(),
  settings: Settings = {},
): Firestore {
  const [host, port] = hostPort.split(":");
  return new Firestore({ projectId, host, port: Number(port), ssl: false, ...settings });
}

/** A Firestore client on the test emulator, in a project of its own. */
export function testFirestore(label?: string): Firestore {
  return emulatorClient(uniqueProjectId(label));
}
