// The embedded default as a fleet (docs/design/fleet.md): three `firebrick serve` processes on one host,
// sharing one data dir and no Firestore at all, agree through the SQLite file as instances on Firestore
// agree through Firestore: the saved flags, and the shared contract (fleet-contract.ts: the device write
// limit, a sign-in budget, "latest 100" with a late point and an overwrite, token revocation).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { loadConfig } from "../../packages/server/src/config/env.js";
import { type OpenedStores, openStores } from "../../packages/server/src/runtime/open-stores.js";
import { describeFleetContract } from "./fleet-contract.js";
import { call, eventually, killServers, type Reply, type ServeProcess, startFleet } from "./support.js";

const TENANT = "demo";
const dataDir = mkdtempSync(join(tmpdir(), "firebrick-fleet-sqlite-"));
const servers: ServeProcess[] = [];
let session = "";
const body = <T>(reply: Reply) => reply.body as T;
let operator: OpenedStores;

afterAll(async () => {
  killServers();
  await operator?.close();
});

beforeAll(async () => {
  const started = await startFleet(3, () => ({ FIREBRICK_DATA_DIR: dataDir }));
  servers.push(...started.servers);
  session = started.session;
  operator = await openStores(loadConfig({ FIREBRICK_DATA_DIR: dataDir }));
}, 180_000);

describe("three processes sharing one SQLite data dir", () => {
  it("agree on the saved flags: a change saved by one process is in force in the others", async () => {
    // Without Firestore no area can move; the saved flags (here the dual-write window's) still agree.
    await operator.fleet.flags.update(
      operator.flags.current(),
      (flags) => ({ ...flags, telemetry_dual_write: true }),
      "test",
      Date.now(),
    );
    for (const server of servers) {
      await eventually(async () => {
        const flags = body<{ flags: Record<string, boolean> }>(
          await call(server.url, "GET", "/api/admin/flags", { tenant: TENANT, session }),
        ).flags;
        return flags.telemetry_dual_write ? true : undefined;
      });
    }
  });

  describeFleetContract(() => ({ servers, session }));
});
