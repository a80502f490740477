import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type EmulatorLocation, type RunningEmulator, startFirestoreEmulator } from "./emulator.js";

const SNAPSHOT_PREFIX = "snapshot-";

export interface LocalEmulator {
  /** `host:port`, the value for `FIRESTORE_EMULATOR_HOST`. */
  readonly hostPort: string;
  readonly pid: number | undefined;
  /** The snapshot this run started from, if any. */
  readonly importedFrom: string | undefined;
  /** Exports the project's data to a new snapshot (the previous ones are removed once it is complete). */
  save(): Promise<string>;
  /** Stops the emulator (without saving). */
  stop(): Promise<void>;
}

/**
 * The Firestore emulator of `firebrick serve --emulator`, its data kept across restarts in `directory`.
 *
 * The jar's `--export-on-exit` writes nothing when the JVM is stopped by a signal (it is the Firebase
 * CLI that exports, over HTTP, before stopping it), so `save()` calls that same export endpoint and the
 * next start passes the newest complete snapshot to `--import-data`.
 *
 * @example
 * const emulator = await startLocalEmulator({ directory: "data/firestore-emulator", projectId: "demo-firebrick" });
 * // ... serve ...
 * await emulator.save();
 * await emulator.stop();
 */
export async function startLocalEmulator(options: {
  directory: string;
  projectId: string;
  location?: EmulatorLocation;
}): Promise<LocalEmulator> {
  mkdirSync(options.directory, { recursive: true });
  const latest = newestSnapshot(options.directory);
  const emulator: RunningEmulator = await startFirestoreEmulator({
    // Ctrl-C reaches the terminal's foreground group: the JVM must outlive it until save() has run.
    ownProcessGroup: true,
    ...(options.location && { location: options.location }),
    ...(latest && { extraArgs: [`--import-data=${latest.metadata}`] }),
  });
  return {
    hostPort: emulator.hostPort,
    pid: emulator.process.pid,
    importedFrom: latest?.path,
    async save() {
      // Date.now() orders snapshots; the name is also the metadata file's name, which the import needs.
      const name = `${SNAPSHOT_PREFIX}${Date.now()}`;
      const response = await fetch(
        `http://${emulator.hostPort}/emulator/v1/projects/${encodeURIComponent(options.projectId)}:export`,
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            database: `projects/${options.projectId}/databases/(default)`,
            export_directory: options.directory,
            export_name: name,
          }),
        },
      );
      if (!response.ok) {
        throw new Error(`the emulator's export failed (HTTP ${response.status}): ${await response.text()}`);
      }
      for (const entry of snapshots(options.directory)) {
        if (entry.name !== name) rmSync(entry.path, { recursive: true, force: true });
      }
      return join(options.directory, name);
    },
    stop: () => emulator.stop(),
  };
}

interface Snapshot {
  name: string;
  path: string;
  metadata: string;
}

function snapshots(directory: string): Snapshot[] {
  return readdirSync(directory, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name.startsWith(SNAPSHOT_PREFIX))
    .map((entry) => ({
      name: entry.name,
      path: join(directory, entry.name),
      metadata: join(directory, entry.name, `${entry.name}.overall_export_metadata`),
    }));
}

/** The newest snapshot whose metadata file exists: an export cut short has none and is passed over. */
function newestSnapshot(directory: string): Snapshot | undefined {
  return snapshots(directory)
    .filter((snapshot) => existsSync(snapshot.metadata))
    .sort(
      (a, b) => Number(b.name.slice(SNAPSHOT_PREFIX.length)) - Number(a.name.slice(SNAPSHOT_PREFIX.length)),
    )
    .at(0);
}
