import {
  type BackupSchedule,
  type BackupScheduleSpec,
  type ControlPlane,
  type Database,
  type DatabaseProtection,
  durationSeconds,
  type Operation,
} from "../gcp/control-plane.js";
import { describeRetention } from "./config.js";

/**
 * Reconciles a database's protection — point-in-time recovery, delete protection, backup schedules — with
 * the configuration. Strengthening is done (or, in preflight, reported as needed); weakening (turning a
 * protection off, shortening a retention, replacing a schedule) only with `allowWeakening`, the CLI's
 * `--allow-weaker-protection`, so that a configuration file alone can never lower a production database's
 * protection.
 */

export interface ProtectionStep {
  status: "ok" | "changed" | "skipped" | "failed";
  detail: string;
  /** Which schedule a backup_schedule line is about (`daily`, `weekly`). */
  subject?: string;
  /** Control-plane mutations this step made. */
  changes: number;
}

export interface ProtectionContext {
  controlPlane: ControlPlane;
  /** Runs a control-plane call with the configured retries. */
  call: <T>(operation: () => Promise<T>) => Promise<T>;
  /** Waits for a long-running operation with the configured polls. */
  wait: (operation: Operation) => Promise<Operation>;
  preflight: boolean;
  allowWeakening: boolean;
}

export const WEAKENING_FLAG = "--allow-weaker-protection";

const SWITCHES = {
  point_in_time_recovery: {
    what: "point-in-time recovery",
    field: "pointInTimeRecovery",
    current: (database: Database) =>
      database.pointInTimeRecoveryEnablement === "POINT_IN_TIME_RECOVERY_ENABLED",
    off: "turning it off drops the 7-day recovery window",
  },
  delete_protection: {
    what: "delete protection",
    field: "deleteProtection",
    current: (database: Database) => database.deleteProtectionState === "DELETE_PROTECTION_ENABLED",
    off: "turning it off lets the database be deleted",
  },
} as const;

/** Point-in-time recovery or delete protection: reported, turned on, or (with the flag) turned off. */
export async function reconcileSwitch(
  check: keyof typeof SWITCHES,
  wanted: boolean | undefined,
  database: Database,
  context: ProtectionContext,
): Promise<ProtectionStep> {
  const { what, field, current, off } = SWITCHES[check];
  const enabled = current(database);
  const state = enabled ? "enabled" : "disabled";
  if (wanted === undefined) {
    return { status: "skipped", detail: `${what} is ${state} (not managed: ${check} is unset)`, changes: 0 };
  }
  if (wanted === enabled) return { status: "ok", detail: `${what} is ${state}`, changes: 0 };
  if (!wanted && !context.allowWeakening) {
    return {
      status: "failed",
      detail: `${what} is enabled and ${check} is false: ${off}; rerun with ${WEAKENING_FLAG} to do so`,
      changes: 0,
    };
  }
  const verb = wanted ? "enable" : "disable";
  if (context.preflight) {
    return { status: "failed", detail: `${what} is ${state} (preflight: would ${verb} it)`, changes: 0 };
  }
  const protection: DatabaseProtection = { [field]: wanted };
  const operation = await context.call(() => context.controlPlane.updateDatabase(protection));
  const done = await context.wait(operation);
  if (done.error) {
    return {
      status: "failed",
      detail: `${verb === "enable" ? "enabling" : "disabling"} ${what} failed: ${done.error.message}`,
      changes: 1,
    };
  }
  return { status: "changed", detail: `${verb}d ${what}`, changes: 1 };
}

/** Describes a schedule as the configuration would: `daily, retention 7d`, `weekly on MONDAY, retention 14w`. */
export function describeSchedule(schedule: BackupSchedule): string {
  const retention = describeRetention(durationSeconds(schedule.retention));
  return schedule.weeklyRecurrence
    ? `weekly on ${schedule.weeklyRecurrence.day}, retention ${retention}`
    : `daily, retention ${retention}`;
}

function recurrenceOf(schedule: BackupSchedule): "daily" | "weekly" {
  return schedule.weeklyRecurrence ? "weekly" : "daily";
}

/**
 * The backup schedules: each configured one created, or its retention raised, or (with the flag) lowered
 * or its day changed; schedules the configuration does not mention are left alone and reported.
 */
export async function reconcileBackupSchedules(
  wanted: BackupScheduleSpec[] | undefined,
  context: ProtectionContext,
): Promise<ProtectionStep[]> {
  const { controlPlane, call, preflight } = context;
  const existing = await call(() => controlPlane.listBackupSchedules());
  if (wanted === undefined) {
    const found = existing.map(describeSchedule).join("; ") || "none";
    return [
      {
        status: "skipped",
        detail: `backup schedules: ${found} (not managed: backup_schedule is unset)`,
        changes: 0,
      },
    ];
  }
  const steps: ProtectionStep[] = [];
  for (const spec of wanted) {
    const subject = spec.recurrence;
    const want = describeSpec(spec);
    const current = existing.find((schedule) => recurrenceOf(schedule) === spec.recurrence);
    if (!current) {
      if (preflight) {
        steps.push({
          status: "failed",
          subject,
          detail: `no ${subject} backup schedule (preflight: would create ${want})`,
          changes: 0,
        });
        continue;
      }
      await call(() => controlPlane.createBackupSchedule(spec));
      steps.push({ status: "changed", subject, detail: `created a ${want} backup schedule`, changes: 1 });
      continue;
    }
    const have = describeSchedule(current);
    const retention = durationSeconds(current.retention);
    const dayChanged = spec.recurrence === "weekly" && current.weeklyRecurrence?.day !== spec.day;
    if (!dayChanged && retention === spec.retentionSeconds) {
      steps.push({ status: "ok", subject, detail: `backup schedule ${have}`, changes: 0 });
      continue;
    }
    // A schedule's day cannot be changed in place: it is deleted and created again, which leaves a moment
    // without one; a shorter retention keeps fewer backups. Both weaken protection.
    const weakening = dayChanged || spec.retentionSeconds < retention;
    if (weakening && !context.allowWeakening) {
      const why = dayChanged
        ? "changing the day replaces the schedule (deleted, then created)"
        : "a shorter retention keeps fewer backups";
      steps.push({
        status: "failed",
        subject,
        detail: `backup schedule is ${have}, configured ${want}: ${why}; rerun with ${WEAKENING_FLAG} to do so`,
        changes: 0,
      });
      continue;
    }
    if (preflight) {
      steps.push({
        status: "failed",
        subject,
        detail: `backup schedule is ${have} (preflight: would make it ${want})`,
        changes: 0,
      });
      continue;
    }
    if (dayChanged) {
      await call(() => controlPlane.deleteBackupSchedule(current.name));
      await call(() => controlPlane.createBackupSchedule(spec));
      steps.push({
        status: "changed",
        subject,
        detail: `replaced the backup schedule ${have} with ${want}`,
        changes: 2,
      });
    } else {
      await call(() => controlPlane.updateBackupSchedule(current.name, spec.retentionSeconds));
      steps.push({
        status: "changed",
        subject,
        detail: `changed the backup schedule from ${have} to ${want}`,
        changes: 1,
      });
    }
  }
  for (const schedule of existing) {
    if (!wanted.some((spec) => spec.recurrence === recurrenceOf(schedule))) {
      steps.push({
        status: "ok",
        subject: recurrenceOf(schedule),
        detail: `backup schedule ${describeSchedule(schedule)} (not in the configuration; left as it is)`,
        changes: 0,
      });
    }
  }
  return steps;
}

function describeSpec(spec: BackupScheduleSpec): string {
  const retention = describeRetention(spec.retentionSeconds);
  return spec.recurrence === "weekly"
    ? `weekly on ${spec.day}, retention ${retention}`
    : `daily, retention ${retention}`;
}
