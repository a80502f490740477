import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { ConfigError } from "../config/env.js";
import type { ControlPlane, Field, Index, IndexField } from "../gcp/control-plane.js";
import {
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
  realSleep,
  retryControlPlaneCall,
  type Sleep,
} from "../gcp/control-plane-retry.js";

/** `infra/firestore.indexes.json`, in the Firebase CLI's format (`indexes` + `fieldOverrides`). */
export const DEFAULT_INDEXES_FILE = fileURLToPath(
  new URL("../../../../infra/firestore.indexes.json", import.meta.url),
);

const order = z.enum(["ASCENDING", "DESCENDING"]);
const queryScope = z.enum(["COLLECTION", "COLLECTION_GROUP"]).default("COLLECTION");
const fieldIndex = z.union([
  z.object({ order, queryScope }).strict(),
  z.object({ arrayConfig: z.literal("CONTAINS"), queryScope }).strict(),
]);
const indexField = z.union([
  z.object({ fieldPath: z.string().min(1), order }).strict(),
  z.object({ fieldPath: z.string().min(1), arrayConfig: z.literal("CONTAINS") }).strict(),
]);
const definitionsSchema = z
  .object({
    indexes: z.array(
      z
        .object({
          collectionGroup: z.string().min(1),
          queryScope,
          fields: z.array(indexField).min(2),
        })
        .strict(),
    ),
    fieldOverrides: z
      .array(
        z
          .object({
            collectionGroup: z.string().min(1),
            fieldPath: z.string().min(1),
            ttl: z.boolean().default(false),
            // Empty: the field is exempt from single-field indexing; otherwise the indexes it must have.
            indexes: z.array(fieldIndex),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

export type IndexDefinitions = z.output<typeof definitionsSchema>;
export type CompositeIndexDefinition = IndexDefinitions["indexes"][number];
export type FieldOverrideDefinition = IndexDefinitions["fieldOverrides"][number];

/** Reads and validates an index definitions file; a bad file is a `ConfigError` naming the path. */
export function loadIndexDefinitions(path = DEFAULT_INDEXES_FILE): IndexDefinitions {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ConfigError(
      "--file",
      "a readable JSON file",
      error instanceof Error ? error.message : String(error),
    );
  }
  const result = definitionsSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(`${path}: ${issue.path.join(".") || "(root)"}`, issue.message.toLowerCase());
  }
  return result.data;
}

export type IndexState = "READY" | "CREATING" | "NEEDS_REPAIR" | "MISSING";

export interface ItemStatus {
  /** What the line is about, e.g. `telemetry (tenant_id ASC, device_id ASC, timestamp_ms DESC)`. */
  item: string;
  state: string;
  /** True when this item passes the gate (READY, ACTIVE, exempt). */
  ready: boolean;
  /** Set by deploy/enable/prune when this run requested a change. */
  changed?: boolean;
  /** Set on something deployed that the definitions do not declare (index drift). */
  drift?: boolean;
  detail?: string;
}

export function describeIndex(
  definition: Pick<CompositeIndexDefinition, "collectionGroup" | "fields">,
): string {
  const fields = definition.fields.map((field) =>
    "arrayConfig" in field
      ? `${field.fieldPath} CONTAINS`
      : `${field.fieldPath} ${field.order === "DESCENDING" ? "DESC" : "ASC"}`,
  );
  return `${definition.collectionGroup} (${fields.join(", ")})`;
}

function fieldKey(field: IndexField): string {
  return `${field.fieldPath}:${field.arrayConfig ?? field.order ?? "ASCENDING"}`;
}

/** Whether a deployed index is the definition (the implicit trailing `__name__` aside). */
export function indexMatches(index: Index, definition: CompositeIndexDefinition): boolean {
  const collectionGroup = index.name?.match(/\/collectionGroups\/([^/]+)\/indexes\//)?.[1];
  if (collectionGroup !== definition.collectionGroup || index.queryScope !== definition.queryScope)
    return false;
  const deployed = index.fields.filter((field) => field.fieldPath !== "__name__").map(fieldKey);
  const wanted = definition.fields.map((field) => fieldKey(field as IndexField));
  return deployed.length === wanted.length && deployed.every((key, i) => key === wanted[i]);
}

export interface GateOptions {
  policy?: RetryPolicy;
  sleep?: Sleep;
}

/** Control-plane calls retried with the configured backoff (transient failures only). */
export function retrying(options: GateOptions) {
  return <T>(operation: () => Promise<T>) =>
    retryControlPlaneCall(operation, options.policy ?? DEFAULT_RETRY_POLICY, options.sleep ?? realSleep);
}

const exemptions = (definitions: IndexDefinitions) =>
  definitions.fieldOverrides.filter((entry) => entry.indexes.length === 0);
const fieldIndexOverrides = (definitions: IndexDefinitions) =>
  definitions.fieldOverrides.filter((entry) => entry.indexes.length > 0);

type FieldIndexDefinition = FieldOverrideDefinition["indexes"][number];
const fieldIndexKey = (index: FieldIndexDefinition) =>
  `${index.queryScope}:${"arrayConfig" in index ? index.arrayConfig : index.order}`;

/**
 * The state of a field override's single-field indexes: MISSING unless the field has every one of them
 * (inherited from the database's defaults or its own), else the least ready of their states.
 */
function fieldIndexesState(field: Field, wanted: FieldIndexDefinition[]): IndexState {
  const deployed = new Map<string, Index["state"]>();
  for (const index of field.indexConfig?.indexes ?? []) {
    const own = index.fields.find((entry) => entry.fieldPath !== "__name__");
    deployed.set(`${index.queryScope}:${own?.arrayConfig ?? own?.order ?? "ASCENDING"}`, index.state);
  }
  const states = wanted.map((index) => {
    const key = fieldIndexKey(index);
    return deployed.has(key) ? (deployed.get(key) ?? "STATE_UNSPECIFIED") : "MISSING";
  });
  if (states.includes("MISSING")) return "MISSING";
  if (states.includes("NEEDS_REPAIR")) return "NEEDS_REPAIR";
  return states.every((state) => state === "READY") ? "READY" : "CREATING";
}

function describeFieldIndexes(override: FieldOverrideDefinition): string {
  const kinds = override.indexes.map((index) =>
    "arrayConfig" in index ? "CONTAINS" : index.order === "DESCENDING" ? "DESC" : "ASC",
  );
  return `field index ${override.collectionGroup}.${override.fieldPath} (${kinds.join(", ")})`;
}

/** Each composite index's state, each exemption's and each field override's indexes'; `ready` is the READY gate. */
export async function indexesStatus(
  controlPlane: ControlPlane,
  definitions: IndexDefinitions,
  options: GateOptions = {},
): Promise<ItemStatus[]> {
  const call = retrying(options);
  const deployed = await call(() => controlPlane.listIndexes());
  const statuses: ItemStatus[] = definitions.indexes.map((definition) => {
    const state: IndexState =
      (deployed.find((index) => indexMatches(index, definition))?.state as IndexState | undefined) ??
      "MISSING";
    return { item: `index ${describeIndex(definition)}`, state, ready: state === "READY" };
  });
  for (const override of exemptions(definitions)) {
    const field = await call(() => controlPlane.getField(override.collectionGroup, override.fieldPath));
    const exempt = isExempt(field);
    statuses.push({
      item: `exemption ${override.collectionGroup}.${override.fieldPath}`,
      state: exempt ? "EXEMPT" : "INDEXED",
      ready: exempt,
    });
  }
  for (const override of fieldIndexOverrides(definitions)) {
    const field = await call(() => controlPlane.getField(override.collectionGroup, override.fieldPath));
    const state = fieldIndexesState(field, override.indexes);
    statuses.push({ item: describeFieldIndexes(override), state, ready: state === "READY" });
  }
  return statuses;
}

/**
 * Creates the missing composite indexes, applies the missing exemptions and the field overrides whose
 * indexes are missing; returns the resulting states.
 */
export async function deployIndexes(
  controlPlane: ControlPlane,
  definitions: IndexDefinitions,
  options: GateOptions = {},
): Promise<ItemStatus[]> {
  const call = retrying(options);
  const before = await indexesStatus(controlPlane, definitions, options);
  const results: ItemStatus[] = before.slice(0, definitions.indexes.length);
  for (const [i, definition] of definitions.indexes.entries()) {
    if (before[i]!.state !== "MISSING") continue;
    await call(() =>
      controlPlane.createIndex(
        definition.collectionGroup,
        definition as Pick<Index, "queryScope" | "fields">,
      ),
    );
    results[i] = {
      ...before[i]!,
      state: "CREATING",
      ready: false,
      changed: true,
      detail: "creation requested",
    };
  }
  let next = definitions.indexes.length;
  for (const override of exemptions(definitions)) {
    const status = before[next++]!;
    if (!status.ready) {
      await call(() => controlPlane.setFieldIndexes(override.collectionGroup, override.fieldPath, []));
      results.push({ ...status, state: "EXEMPTING", changed: true, detail: "exemption requested" });
    } else {
      results.push(status);
    }
  }
  for (const override of fieldIndexOverrides(definitions)) {
    const status = before[next++]!;
    if (status.state === "MISSING") {
      await call(() =>
        controlPlane.setFieldIndexes(override.collectionGroup, override.fieldPath, override.indexes),
      );
      results.push({ ...status, state: "CREATING", changed: true, detail: "indexes requested" });
    } else {
      results.push(status);
    }
  }
  return results;
}

/** Each TTL field override's state; `ready` is the ACTIVE gate. */
export async function ttlStatus(
  controlPlane: ControlPlane,
  definitions: IndexDefinitions,
  options: GateOptions = {},
): Promise<ItemStatus[]> {
  const call = retrying(options);
  const statuses: ItemStatus[] = [];
  for (const override of definitions.fieldOverrides.filter((entry) => entry.ttl)) {
    const field = await call(() => controlPlane.getField(override.collectionGroup, override.fieldPath));
    const state = field.ttlConfig?.state ?? "MISSING";
    statuses.push({
      item: `ttl ${override.collectionGroup}.${override.fieldPath}`,
      state,
      ready: state === "ACTIVE",
    });
  }
  return statuses;
}

/** Turns on TTL for every TTL field override that lacks it; returns the resulting states. */
export async function enableTtl(
  controlPlane: ControlPlane,
  definitions: IndexDefinitions,
  options: GateOptions = {},
): Promise<ItemStatus[]> {
  const call = retrying(options);
  const before = await ttlStatus(controlPlane, definitions, options);
  const overrides = definitions.fieldOverrides.filter((entry) => entry.ttl);
  const results: ItemStatus[] = [];
  for (const [i, override] of overrides.entries()) {
    const status = before[i]!;
    if (status.state === "MISSING" || status.state === "NEEDS_REPAIR") {
      await call(() => controlPlane.enableTtl(override.collectionGroup, override.fieldPath));
      results.push({ ...status, state: "CREATING", ready: false, changed: true, detail: "TTL requested" });
    } else {
      results.push(status);
    }
  }
  return results;
}

function isExempt(field: Field): boolean {
  return field.indexConfig?.usesAncestorConfig === false && (field.indexConfig.indexes ?? []).length === 0;
}

/**
 * The migration plan's readiness gate: are the telemetry composite indexes READY (the one "latest" and
 * windows read by, and the one the latest-points cache asks what was written since)? Reads move to
 * Firestore only then. Without a control plane (the emulator, which needs no indexes) it is always ready.
 *
 * @example
 * if (await telemetryIndexReady(controlPlane)) routeTelemetryReadsToFirestore();
 */
export async function telemetryIndexReady(
  controlPlane: ControlPlane | null,
  definitions: IndexDefinitions = loadIndexDefinitions(),
  options: GateOptions = {},
): Promise<boolean> {
  if (!controlPlane) return true;
  const telemetry = definitions.indexes.filter(
    (definition) =>
      definition.collectionGroup === "telemetry" &&
      definition.fields.some((field) => field.fieldPath === "device_id"),
  );
  if (telemetry.length === 0) return false;
  const call = retrying(options);
  const deployed = await call(() => controlPlane.listIndexes());
  return telemetry.every((wanted) =>
    deployed.some((index) => indexMatches(index, wanted) && index.state === "READY"),
  );
}
