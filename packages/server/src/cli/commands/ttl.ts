import type { Command } from "commander";
import { enableTtl, ttlStatus } from "../../bootstrap/indexes.js";
import { type GateCommandOptions, runGateCommand, withGateOptions } from "./indexes.js";

export function registerTtl(program: Command): void {
  const ttl = program.command("ttl");
  withGateOptions(
    ttl.command("status").description("show each TTL policy's state; exit 0 only when all are ACTIVE"),
  ).action((options: GateCommandOptions) =>
    runGateCommand(options, "ACTIVE", (controlPlane, definitions) => ttlStatus(controlPlane, definitions), {
      requireReady: true,
    }),
  );
  withGateOptions(
    ttl.command("enable").description("turn on the missing TTL policies (then: ttl status)"),
  ).action((options: GateCommandOptions) =>
    runGateCommand(options, "ACTIVE", (controlPlane, definitions) => enableTtl(controlPlane, definitions), {
      requireReady: false,
    }),
  );
}
