import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SCRIPT = fileURLToPath(new URL("./testing/loaded-packages.ts", import.meta.url));

describe("the embedded default's start-up", () => {
  it("serves on SQLite without loading the Firestore SDK or the GCP clients", () => {
    const dataDir = mkdtempSync(join(tmpdir(), "firebrick-lazy-"));
    const env = { PATH: process.env.PATH, METADATA_SERVER_DETECTION: "none" };
    const child = spawnSync(process.execPath, ["--import", "tsx", SCRIPT, dataDir], {
      env,
      encoding: "utf8",
    });
    expect(child.stderr).toBe("");
    const loaded = JSON.parse(child.stdout) as string[];
    // The server did start (these are what it serves with)…
    expect(loaded).toEqual(expect.arrayContaining(["fastify", "better-sqlite3"]));
    // …and none of what only Firestore needs.
    for (const name of ["@google-cloud/firestore", "@grpc/grpc-js", "google-gax", "google-auth-library"]) {
      expect(loaded).not.toContain(name);
    }
  }, 60_000);
});
