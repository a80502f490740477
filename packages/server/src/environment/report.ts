import type { EnvironmentReport, StepStatus } from "./provision.js";

const LABEL: Record<StepStatus, string> = {
  ok: "ok     ",
  changed: "changed",
  pending: "pending",
  skipped: "skipped",
  failed: "FAILED ",
};

/** The operator's report: one line per step, then a verdict. Secret values are never in it. */
export function formatEnvironmentReport(report: EnvironmentReport): string {
  const mode = report.apply ? "apply" : "plan";
  const lines = [
    `firebrick env ${mode}: environment ${report.environment}, project ${report.projectId}, control plane ${report.controlPlane}`,
  ];
  for (const step of report.steps) {
    lines.push(`  ${LABEL[step.status]}  ${step.step.padEnd(13)}  ${step.subject}: ${step.detail}`);
  }
  const failed = report.steps.filter((step) => step.status === "failed").length;
  const pending = report.steps.filter((step) => step.status === "pending").length;
  if (failed > 0) lines.push(`NOT compliant: ${failed} step${failed === 1 ? "" : "s"} failed`);
  else if (pending > 0)
    lines.push(`${pending} change${pending === 1 ? "" : "s"} to make (run: firebrick env apply)`);
  else lines.push(`compliant (${report.changes} change${report.changes === 1 ? "" : "s"})`);
  return `${lines.join("\n")}\n`;
}

/** The machine-readable report for `--json`. */
export function environmentReportJson(report: EnvironmentReport): string {
  return `${JSON.stringify({
    environment: report.environment,
    project_id: report.projectId,
    control_plane: report.controlPlane,
    apply: report.apply,
    compliant: report.compliant,
    changes: report.changes,
    service_account: report.serviceAccount,
    steps: report.steps,
  })}\n`;
}
