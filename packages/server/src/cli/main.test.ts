import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runCli } from "./testing/run-cli.js";

const importTrace = fileURLToPath(new URL("./testing/import-trace.mjs", import.meta.url));

/** The project's own modules and packages a run of the CLI loaded (from `import-trace.mjs`). */
async function loadedModules(
  args: string[],
): Promise<{ code: number | null; stdout: string; loaded: string[] }> {
  const trace = join(mkdtempSync(join(tmpdir(), "firebrick-imports-")), "trace");
  const result = await runCli(args, {
    nodeOptions: ["--import", importTrace],
    env: { FIREBRICK_IMPORT_TRACE: trace },
  });
  const loaded = readFileSync(trace, "utf8")
    .split("\n")
    .filter((url) => url.startsWith("file://"))
    .filter((url) => !url.includes("/node_modules/tsx/") && !url.includes("/node_modules/esbuild/"));
  return { code: result.code, stdout: result.stdout, loaded };
}

describe("firebrick --help", () => {
  it("lists every command with its summary and loads no command module (nor Fastify, nor the Firestore SDK)", async () => {
    const { code, stdout, loaded } = await loadedModules(["--help"]);
    expect(code).toBe(0);
    for (const command of ["serve", "bootstrap", "users", "devices", "tenants", "backfill", "locks"]) {
      expect(stdout).toMatch(new RegExp(`^  ${command}\\b.* {2,}\\S`, "m"));
    }
    expect(loaded.filter((url) => url.includes("/cli/commands/"))).toEqual([]);
    expect(loaded.filter((url) => /fastify|google-cloud|firestore|zod/.test(url))).toEqual([]);
  });

  it("for one command loads that command's module only", async () => {
    const { code, loaded } = await loadedModules(["users", "--help"]);
    expect(code).toBe(0);
    const commands = loaded
      .filter((url) => url.includes("/cli/commands/"))
      .map((url) => url.split("/").pop());
    expect(commands).toContain("users.ts");
    expect(
      commands.filter((file) => !["users.ts", "password-input.ts", "stores.ts"].includes(file!)),
    ).toEqual([]);
  });

  it("marks the options a command cannot run without as (required)", async () => {
    const { code, stdout } = await runCli(["users", "create", "--help"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/--tenant <tenant> +the user's tenant \(required\)/);
    expect(stdout).toMatch(/--password-stdin +read the password from the first line of stdin\n/);
  });
});
