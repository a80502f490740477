// The package as a user gets it: `npm pack`, installed into an empty project that has only the drivers,
// the README's quick start type-checked against the installed types and run against the emulator.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emulatorHost, uniqueProjectId } from "../../../../test/firestore.js";

const run = promisify(execFile);
const lockDir = fileURLToPath(new URL("../../", import.meta.url));
const workspace = fileURLToPath(new URL("../../../../", import.meta.url));
const workspaceModule = (name: string) => join(workspace, "node_modules", name);

let project: string;
let tarball: string;
let files: string[];

/** The ```ts blocks of a README section, in order. */
function codeBlocks(readme: string, heading: string): string[] {
  const start = readme.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README has no section "${heading}"`);
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] as string);
}

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), "firebrick-lock-install-"));
  // npm pack runs the package's prepack (its build) and packs exactly what `files` and `exports` ship.
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", project], {
    cwd: lockDir,
    maxBuffer: 16 * 1024 * 1024,
  });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  if (!packed) throw new Error("npm pack produced nothing");
  tarball = join(project, packed.filename);
  files = packed.files.map((file) => file.path);

  await writeFile(
    join(project, "package.json"),
    JSON.stringify({ name: "lock-quickstart", private: true, type: "module", dependencies: {} }),
  );
  // Installed from the tarball alone: the package has no dependencies of its own, so this needs no registry.
  await run(
    "npm",
    ["install", tarball, "--offline", "--no-audit", "--no-fund", "--ignore-scripts", "--no-package-lock"],
    { cwd: project },
  );
  // The drivers (and the type packages the quick start compiles against) are the workspace's installed copies:
  // what the user would have installed next to the package, without downloading them again.
  for (const name of ["@google-cloud/firestore", "better-sqlite3", "@types/node", "@types/better-sqlite3"]) {
    const target = join(project, "node_modules", name);
    await mkdir(dirname(target), { recursive: true });
    await symlink(workspaceModule(name), target, "dir");
  }
}, 180_000);

afterAll(async () => {
  if (project) await rm(project, { recursive: true, force: true });
});

describe("the packed package", () => {
  it("ships the build, its types, README, CHANGELOG and LICENSE, and no sources or tests", () => {
    for (const entry of ["index", "common/index", "firestore/index", "sqlite/index"]) {
      expect(files).toContain(`dist/${entry}.js`);
      expect(files).toContain(`dist/${entry}.d.ts`);
    }
    expect(files).toEqual(expect.arrayContaining(["package.json", "README.md", "CHANGELOG.md", "LICENSE"]));
    expect(files.filter((path) => !path.startsWith("dist/") && path.includes("/"))).toEqual([]);
    expect(files.some((path) => /\.test\.|tsbuildinfo/.test(path))).toBe(false);
  });

  it("declares Node >= 20.4, version 1.0.0 and an exports map for each entry point", async () => {
    const manifest = JSON.parse(
      await readFile(join(project, "node_modules/@firebrick/lock/package.json"), "utf8"),
    ) as {
      version: string;
      engines: { node: string };
      exports: Record<string, unknown>;
      dependencies?: unknown;
    };
    expect(manifest.version).toBe("1.0.0");
    expect(manifest.engines.node).toBe(">=20.4");
    expect(Object.keys(manifest.exports)).toEqual([
      ".",
      "./common",
      "./firestore",
      "./sqlite",
      "./package.json",
    ]);
    expect(manifest.dependencies).toBeUndefined();
  });

  it("type-checks the README's quick starts against the installed types and runs them on the emulator", async () => {
    const readme = await readFile(join(project, "node_modules/@firebrick/lock/README.md"), "utf8");
    const [firestoreStart, sqliteStart] = codeBlocks(readme, "Quick start");
    if (!firestoreStart || !sqliteStart) throw new Error("the quick start lost a code block");
    await writeFile(join(project, "firestore-quickstart.ts"), firestoreStart);
    await writeFile(join(project, "sqlite-quickstart.ts"), sqliteStart);
    await writeFile(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          lib: ["ES2023", "ESNext.Disposable"],
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmitOnError: true,
          skipLibCheck: false,
          types: ["node"],
          outDir: "out",
        },
        include: ["*.ts"],
      }),
    );
    // Resolved through the installed package's `exports` and `types`, as a user's compiler would; no
    // skipLibCheck, so the package's own declarations are checked too.
    await run(process.execPath, [workspaceModule("typescript/bin/tsc"), "-p", project], {
      cwd: project,
    }).catch((error: { stdout?: string }) => {
      throw new Error(`the quick start does not compile against the package:\n${error.stdout}`);
    });
    const env = {
      ...process.env,
      FIRESTORE_EMULATOR_HOST: emulatorHost(),
      GOOGLE_CLOUD_PROJECT: uniqueProjectId("lock-quickstart"),
      METADATA_SERVER_DETECTION: "none",
    };
    const firestoreRun = await run(process.execPath, ["out/firestore-quickstart.js"], { cwd: project, env });
    expect(firestoreRun.stdout).toMatch(/^backfill step written under fence 000000000000001$/m);
    expect(firestoreRun.stdout).toMatch(/^invoice:42 held for \d+ ms more at most$/m);
    const sqliteRun = await run(process.execPath, ["out/sqlite-quickstart.js"], { cwd: project, env });
    expect(sqliteRun.stdout.trim()).toBe("swept under fence 000000000000001");
  }, 120_000);
});
