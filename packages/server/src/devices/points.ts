import { AppError } from "../errors.js";
import { MAX_POINTS_PER_DEVICE } from "../http/schemas.js";
import type { Device, PointDefinition } from "../stores/types.js";

/**
 * Point definitions (docs/design/devices.md): what a device's metric means, and which of its values are
 * valid. Telemetry is stored as sent whatever the definitions say; a value outside its point's valid
 * range is flagged when it is read (`outOfRange`), so that a definition changed later applies to the
 * history too and the write path stays as it is.
 */

/** The rules a schema cannot say: which fields go with which kind, and min ≤ max. Throws a 400. */
export function checkPointDefinition(metric: string, definition: PointDefinition): void {
  const refuse = (message: string) => {
    throw new AppError("VALIDATION_FAILED", `point ${metric}: ${message}`);
  };
  const { kind, min, max, labels } = definition;
  if (kind !== "number" && (min !== null || max !== null)) refuse("min and max apply to number points only");
  if (min !== null && max !== null && min > max) refuse("min must not be greater than max");
  if (kind === "enum" && labels === null) refuse("an enum point needs labels");
  if (kind !== "enum" && labels !== null) refuse("labels apply to enum points only");
}

/**
 * The device with `definition` set for `metric`; a new metric beyond `MAX_POINTS_PER_DEVICE` is a 400.
 * Pure, as `DevicesStore.update` wants it (it may run twice).
 */
export function withPoint(device: Device, metric: string, definition: PointDefinition): Device["points"] {
  if (!(metric in device.points) && Object.keys(device.points).length >= MAX_POINTS_PER_DEVICE) {
    throw new AppError(
      "VALIDATION_FAILED",
      `a device has at most ${MAX_POINTS_PER_DEVICE} point definitions; delete one first`,
    );
  }
  return { ...device.points, [metric]: definition };
}

/** Whether `value` is valid for its point: within the range, 0 or 1, or a labelled code. */
export function isValidValue(definition: PointDefinition, value: number): boolean {
  switch (definition.kind) {
    case "number":
      return (
        (definition.min === null || value >= definition.min) &&
        (definition.max === null || value <= definition.max)
      );
    case "boolean":
      return value === 0 || value === 1;
    case "enum":
      return definition.labels !== null && Object.hasOwn(definition.labels, String(value));
  }
}

/** The metrics of one reading whose value is not valid for their point (metrics without a definition never are). */
export function outOfRange(points: Device["points"], metrics: Record<string, number>): string[] {
  const flagged: string[] = [];
  for (const [metric, value] of Object.entries(metrics)) {
    const definition = points[metric];
    if (definition && !isValidValue(definition, value)) flagged.push(metric);
  }
  return flagged;
}
