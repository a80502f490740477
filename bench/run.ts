// `npm run bench`: every target of docs/design/targets.md, each beside a baseline measured in the same
// run, printed as a table and written into bench/README.md. The phases are in bench/phases/ (listed in
// bench/phases/index.ts); how each comparison is measured is lib/paired.ts.
// Env: BENCH_PHASES=a,b (a subset; `list` prints the names), BENCH_SECONDS (per side per round, default 2),
// BENCH_ROUNDS (default 5), BENCH_NO_README=1 to print only, BENCH_STRICT=1 to exit 1 on a missed target.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { createContext } from "./lib/context.js";
import type { Figure } from "./lib/figure.js";
import { PHASES } from "./phases/index.js";

const started = Date.now();
const requested = process.env.BENCH_PHASES?.split(",").map((name) => name.trim()) ?? [];
if (requested.includes("list")) {
  for (const phase of PHASES) console.log(`${phase.name.padEnd(20)} ${phase.title}`);
  process.exit(0);
}
const unknown = requested.filter((name) => !PHASES.some((phase) => phase.name === name));
if (unknown.length > 0) {
  console.error(`bench: unknown phase ${unknown.join(", ")}; BENCH_PHASES=list prints the names`);
  process.exit(2);
}
const selected = requested.length > 0 ? PHASES.filter((phase) => requested.includes(phase.name)) : PHASES;

const context = createContext(started);
const figures: Figure[] = [];
const failed: string[] = [];
try {
  for (const phase of selected) {
    context.log(`${phase.name}: ${phase.title}`);
    try {
      figures.push(...(await phase.run(context)));
    } catch (error) {
      // One broken phase must not hide the others' figures; it still fails the run.
      failed.push(phase.name);
      context.log(`${phase.name} FAILED: ${(error as Error).stack ?? error}`);
    }
  }
} finally {
  await context.close();
}

function table(): string {
  const header = ["figure", "measured", "baseline (same run)", "ratio (median [range])", "target", "met"];
  const met = (f: Figure) => (f.met === null ? "—" : f.met ? "yes" : "NO");
  const rows = figures.map((f) => [f.what, f.measured, f.baseline, f.ratio, f.target, met(f)]);
  return [header, header.map(() => "---"), ...rows].map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}

const minutes = ((Date.now() - started) / 60_000).toFixed(1);
const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? "CPU"}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, Node ${process.version}`;
const stamp = new Date().toISOString().replace(/\.\d+Z$/, "Z");
const scope = requested.length > 0 ? `phases ${requested.join(", ")}` : "all phases";
const settings = `${context.rounds} rounds of ${context.seconds} s per side`;
const results = `Measured ${stamp} (UTC) on ${machine}; ${scope}, ${settings}; the run took ${minutes} min.\n\n${table()}\n`;
console.log(`\n${results}`);
if (failed.length > 0) console.log(`Phases that failed: ${failed.join(", ")}`);
// Only a whole, successful run rewrites the committed table.
if (process.env.BENCH_NO_README !== "1" && requested.length === 0 && failed.length === 0) {
  const readme = join(context.root, "bench", "README.md");
  const text = readFileSync(readme, "utf8");
  const marked = /(<!-- results:start -->\n)[\s\S]*?(<!-- results:end -->)/;
  if (!marked.test(text)) throw new Error("bench/README.md lost its results markers");
  writeFileSync(readme, text.replace(marked, `$1${results}$2`));
  // Biome formats Markdown too (its tables padded), and `npm test` runs `biome ci`.
  spawnSync(
    process.execPath,
    [join(context.root, "node_modules/@biomejs/biome/bin/biome"), "format", "--write", readme],
    { stdio: "ignore" },
  );
  context.log("results written to bench/README.md");
}
// A missed target is a finding, printed as "NO"; BENCH_STRICT=1 turns it into a failing exit status.
if (failed.length > 0) process.exitCode = 1;
if (process.env.BENCH_STRICT === "1" && figures.some((f) => f.met === false)) process.exitCode = 1;
