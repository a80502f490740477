import { call, login, type ServerEnv, type ServerProcess, startServerProcess } from "../server-process.js";
import type { BenchContext } from "./context.js";

export interface Device {
  id: string;
  token: string;
}

export interface Service {
  server: ServerProcess;
  /** The first run's admin, signed in: the `Cookie` header value. */
  admin: string;
  devices: Device[];
  /** The Firestore project the service's areas are on (store "firestore" only). */
  projectId: string | null;
}

/**
 * `firebrick serve` in a child process on a fresh data dir (every area on a fresh Firestore project of the
 * run's emulator when `store` is "firestore", on SQLite otherwise), with `devices` devices created through
 * the API. Stopped at the end of the run.
 */
export async function startService(
  bench: BenchContext,
  options: { label: string; store: "firestore" | "sqlite"; devices: number } & Omit<
    ServerEnv,
    "dataDir" | "firestore"
  >,
): Promise<Service> {
  const { label, store, devices: count, ...env } = options;
  const projectId = store === "firestore" ? bench.projectId(label) : null;
  const server = await startServerProcess({
    ...env,
    dataDir: bench.tempDir(label),
    ...(projectId && { firestore: { emulatorHost: (await bench.emulator()).hostPort, projectId } }),
  });
  bench.defer(() => server.stop());
  const admin = await login(server.url, "admin", server.adminPassword!);
  const devices: Device[] = [];
  // A few at a time: creating a device hashes its token and writes an audit entry.
  for (let i = 0; i < count; i += 8) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(8, count - i) }, (_, j) =>
        call(server.url, "POST", "/api/devices", {
          cookie: admin,
          body: { name: `AHU-${i + j}` },
          expect: 201,
        }),
      ),
    );
    for (const created of batch as Array<{ device: { id: string }; token: string }>) {
      devices.push({ id: created.device.id, token: created.token });
    }
  }
  return { server, admin, devices, projectId };
}
