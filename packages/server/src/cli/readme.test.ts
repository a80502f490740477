import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { buildProgram } from "./main.js";

const readme = readFileSync(fileURLToPath(new URL("../../../../README.md", import.meta.url)), "utf8");

/** Every command that runs something (`users create`, `serve`), with its path of names. */
function leaves(command: Command, path: string[] = []): { path: string[]; command: Command }[] {
  const subcommands = command.commands.filter((sub) => sub.name() !== "help");
  if (subcommands.length === 0) return [{ path, command }];
  return subcommands.flatMap((sub) => leaves(sub, [...path, sub.name()]));
}

describe("the README's command-line table", () => {
  it("lists every command with every one of its options", async () => {
    const section = readme.slice(
      readme.indexOf("## Command line"),
      readme.indexOf("## `firebrick bootstrap`"),
    );
    // The first cell of each row (a `|` inside it is escaped as `\|`).
    const rows = section
      .split("\n")
      .filter((line) => line.startsWith("| `firebrick"))
      .map((line) => line.split(/(?<!\\)\|/)[1]!);
    const missing: string[] = [];
    for (const { path, command } of leaves(await buildProgram())) {
      const [group, ...rest] = path;
      const options = command.options.map((option) => option.long!).filter((flag) => flag !== "--help");
      // A row names the command (`firebrick locks list|show`), and lists every option of it.
      const row = rows.find(
        (candidate) =>
          candidate.includes(`firebrick ${group}`) &&
          rest.every((name) => new RegExp(`[ |\`]${name}\\b`).test(candidate)) &&
          options.every((flag) => candidate.includes(flag)),
      );
      if (!row) missing.push(`firebrick ${path.join(" ")} ${options.join(" ")}`);
    }
    expect(missing).toEqual([]);
  }, 60_000);
});
