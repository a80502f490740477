// The rules of the repository's layout (README, "Layout"), read from the import statements themselves so
// that none of them can slip back in unnoticed.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const server = join(root, "packages/server/src");

/** Every file under `dir` whose name matches `pattern` (repository-relative paths, `/`-separated). */
function filesUnder(dir: string, pattern = /\.(ts|js|mjs)$/): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === "node_modules" || name === "dist" || name.startsWith(".")) continue;
    if (statSync(path).isDirectory()) found.push(...filesUnder(path, pattern));
    else if (pattern.test(name)) found.push(relative(root, path).split(sep).join("/"));
  }
  return found;
}

/** The server's own modules (not its tests or test harnesses), but those `except` matches. */
function serverModules(except: RegExp[] = []): string[] {
  return filesUnder(server).filter(
    (file) =>
      !file.endsWith(".test.ts") && !file.includes("/testing/") && !except.some((rule) => rule.test(file)),
  );
}

/** The code and notes that may cite design documents: sources, tests, scripts, web files, READMEs. */
function citingFiles(): string[] {
  const text = /\.(ts|js|mjs|md|json|yml|html|css)$/;
  return [
    "README.md",
    ...["packages", "test", "bench", "infra", ".ci"].flatMap((dir) => filesUnder(join(root, dir), text)),
    ...filesUnder(join(root, ".ci"), /^run$/),
  ];
}

/** The module specifiers a file imports or re-exports, statically or dynamically. */
function specifiersOf(file: string): string[] {
  const text = readFileSync(join(root, file), "utf8");
  const pattern =
    /(?:^|\n)\s*(?:import|export)[^"'`;]*?from\s*["']([^"']+)["']|(?:^|\n)\s*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;
  return [...text.matchAll(pattern)].map((match) => (match[1] ?? match[2] ?? match[3])!);
}

/** What a file imports: relative specifiers as repository paths, packages by name. */
function importsOf(file: string): { local: string[]; packages: string[] } {
  const local: string[] = [];
  const packages: string[] = [];
  for (const specifier of specifiersOf(file)) {
    if (specifier.startsWith(".")) {
      local.push(
        relative(root, resolve(dirname(join(root, file)), specifier))
          .split(sep)
          .join("/"),
      );
    } else packages.push(specifier);
  }
  return { local, packages };
}

describe("the layout", () => {
  it("keeps http/ a kit: it imports only its own files, the error catalogue, config, observability and the store types", () => {
    const allowed = [
      /^packages\/server\/src\/http\//,
      /^packages\/server\/src\/errors\.js$/,
      /^packages\/server\/src\/config\//,
      /^packages\/server\/src\/observability\//,
      /^packages\/server\/src\/stores\/types\.js$/,
    ];
    const files = filesUnder(join(server, "http"));
    expect(files.length).toBeGreaterThan(3);
    const offending = files.flatMap((file) =>
      importsOf(file)
        .local.filter((target) => !allowed.some((rule) => rule.test(target)))
        .map((target) => `${file} imports ${target}`),
    );
    expect(offending).toEqual([]);
  });

  it("keeps @firebrick/lock free of the server: nothing in its sources or tests imports packages/server", () => {
    const files = [
      ...filesUnder(join(root, "packages/lock/src")),
      ...filesUnder(join(root, "packages/lock/test")),
    ];
    expect(files.length).toBeGreaterThan(10);
    const offending = files.flatMap((file) => {
      const { local, packages } = importsOf(file);
      return [
        ...local.filter((target) => target.startsWith("packages/server/")),
        ...packages.filter((name) => name.startsWith("@firebrick/server")),
      ].map((target) => `${file} imports ${target}`);
    });
    expect(offending).toEqual([]);
  });

  it("lets only the composition root (api.ts) import a routes module: routes never import routes", () => {
    const routes = filesUnder(server).filter((file) => /\/routes\.ts$/.test(file));
    expect(routes.length).toBeGreaterThan(4);
    const offending = serverModules([/^packages\/server\/src\/api\.ts$/]).flatMap((file) =>
      importsOf(file)
        .local.filter((target) => /\/routes\.js$/.test(target))
        .map((target) => `${file} imports ${target}`),
    );
    expect(offending).toEqual([]);
  });

  it("reads the environment only in config/: everything else receives the parsed Config", () => {
    const offending = serverModules([/^packages\/server\/src\/config\//]).filter((file) =>
      /\bprocess\.env\b/.test(readFileSync(join(root, file), "utf8")),
    );
    expect(offending).toEqual([]);
  });

  it("cites only documents that exist in the repository: every docs/… path resolves", () => {
    const files = citingFiles();
    expect(files.length).toBeGreaterThan(100);
    const missing = files.flatMap((file) =>
      [
        ...readFileSync(join(root, file), "utf8").matchAll(
          /\bdocs\/[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.(?:md|png)\b/g,
        ),
      ]
        .map(([path]) => path)
        .filter((path) => !existsSync(join(root, path)))
        .map((path) => `${file} cites ${path}`),
    );
    expect(missing).toEqual([]);
  });

  it("cites no document outside the repository: no SPEC.md sections, and every ADR number names its file in docs/adr/", () => {
    const adrs = new Set(
      readdirSync(join(root, "docs/adr")).flatMap((name) => /^(ADR-\d+)-/.exec(name)?.[1] ?? []),
    );
    const offending = citingFiles()
      .filter((file) => file !== "test/layout.test.ts")
      .flatMap((file) =>
        readFileSync(join(root, file), "utf8")
          .split("\n")
          .flatMap((line, index) => {
            const unknownAdr = [...line.matchAll(/\bADR-\d+/g)].some(([adr]) => !adrs.has(adr));
            return /\bSPEC(\.md)?\s*§/.test(line) || unknownAdr ? [`${file}:${index + 1}`] : [];
          }),
      );
    expect(adrs.size).toBeGreaterThan(5);
    expect(offending).toEqual([]);
  });

  it("has routes reach storage only through the stores: no database client, no store implementation", () => {
    const routes = filesUnder(server).filter((file) => /\/routes\.ts$/.test(file));
    const offending = routes.flatMap((file) => {
      const { local, packages } = importsOf(file);
      return [
        ...local.filter((target) =>
          /^packages\/server\/src\/(storage|stores\/(sqlite|firestore))\//.test(target),
        ),
        ...packages.filter((name) => /^(@google-cloud\/firestore|better-sqlite3)$/.test(name)),
      ].map((target) => `${file} imports ${target}`);
    });
    expect(offending).toEqual([]);
  });

  it("reads Firestore failures through the one vocabulary (@firebrick/lock/firestore): no gRPC code table elsewhere", () => {
    const statuses =
      "UNAVAILABLE|DEADLINE_EXCEEDED|ABORTED|INTERNAL|FAILED_PRECONDITION|ALREADY_EXISTS|NOT_FOUND";
    const table = new RegExp(`\\b(${statuses})\\s*[:=]\\s*\\d+`);
    const numeric = /\bcode\)?\s*[!=]==?\s*\d+\b/;
    const offending = serverModules([]).filter((file) => {
      const text = readFileSync(join(root, file), "utf8");
      return table.test(text) || numeric.test(text);
    });
    expect(offending).toEqual([]);
  });
});
