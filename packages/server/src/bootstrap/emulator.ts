import type { Firestore } from "@google-cloud/firestore";
import { type BootstrapConfig, DEFAULT_BOOTSTRAP_CONFIG } from "./config.js";
import { type BootstrapReport, runBootstrap } from "./run.js";

/** The bootstrap could not make the state compliant; the message carries the failed lines. */
export class BootstrapFailedError extends Error {
  override name = "BootstrapFailedError";
  constructor(readonly report: BootstrapReport) {
    super(
      `bootstrap failed: ${report.checks
        .filter((check) => check.status === "failed")
        .map((check) => `${check.check}: ${check.detail}`)
        .join("; ")}`,
    );
  }
}

/**
 * What `firebrick serve --emulator` runs at start: the bootstrap with no control plane (the emulator
 * always has a Native default database), so only the bootstrap document is reconciled. Throws
 * `BootstrapFailedError` unless compliant.
 *
 * @example
 * await emulatorBootstrap(firestore, "demo-firebrick");
 */
export async function emulatorBootstrap(
  firestore: Firestore,
  projectId: string,
  config: BootstrapConfig = DEFAULT_BOOTSTRAP_CONFIG,
): Promise<BootstrapReport> {
  const report = await runBootstrap({ config, projectId, controlPlane: null, firestore, preflight: false });
  if (!report.compliant) throw new BootstrapFailedError(report);
  return report;
}
