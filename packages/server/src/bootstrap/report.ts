import type { BootstrapReport, CheckStatus } from "./run.js";

const LABEL: Record<CheckStatus, string> = {
  ok: "ok     ",
  changed: "changed",
  skipped: "skipped",
  failed: "FAILED ",
};

/** The operator's report: one line per check (what was checked, what changed, what failed), then a verdict. */
export function formatBootstrapReport(report: BootstrapReport): string {
  const mode = report.preflight ? "preflight" : "bootstrap";
  const database = report.databaseId === "(default)" ? "" : `, database ${report.databaseId}`;
  const lines = [
    `firebrick ${mode}: project ${report.projectId}${database}, control plane ${report.controlPlane}`,
  ];
  for (const check of report.checks)
    lines.push(`  ${LABEL[check.status]}  ${check.check.padEnd(22)}  ${check.detail}`);
  const failed = report.checks.filter((check) => check.status === "failed").length;
  lines.push(
    report.compliant
      ? `compliant (${report.changes} change${report.changes === 1 ? "" : "s"})`
      : `NOT compliant: ${failed} check${failed === 1 ? "" : "s"} failed`,
  );
  return `${lines.join("\n")}\n`;
}

/** The machine-readable report for `--json`. */
export function bootstrapReportJson(report: BootstrapReport): string {
  return `${JSON.stringify({
    compliant: report.compliant,
    preflight: report.preflight,
    project_id: report.projectId,
    database_id: report.databaseId,
    control_plane: report.controlPlane,
    changes: report.changes,
    checks: report.checks,
  })}\n`;
}
