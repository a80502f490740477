import type { ControlPlane, Field, Index } from "../gcp/control-plane.js";
import {
  describeIndex,
  type GateOptions,
  type IndexDefinitions,
  type ItemStatus,
  indexMatches,
  retrying,
} from "./indexes.js";

/**
 * Index drift: what is deployed but not declared in the definitions file — composite indexes, single-field
 * index overrides and TTL policies made by hand and left behind. Each costs storage and amplifies writes
 * (a TTL policy deletes data), so `indexes status` reports them and `indexes deploy --prune` removes them.
 */
export type Drift =
  | { kind: "index"; item: string; name: string }
  | { kind: "field_indexes"; item: string; collectionGroup: string; fieldPath: string }
  | { kind: "ttl"; item: string; collectionGroup: string; fieldPath: string };

/** `projects/p/databases/d/collectionGroups/cg/fields/f` → `{ collectionGroup: "cg", fieldPath: "f" }`. */
export function parseFieldName(name: string): { collectionGroup: string; fieldPath: string } {
  const match = name.match(/\/collectionGroups\/([^/]+)\/fields\/(.+)$/);
  return { collectionGroup: match?.[1] ?? "", fieldPath: match?.[2] ?? name };
}

function describeDeployedIndex(index: Index): string {
  const collectionGroup = index.name?.match(/\/collectionGroups\/([^/]+)\/indexes\//)?.[1] ?? "?";
  // The implicit trailing `__name__` (same direction as the last field) is Firestore's, not the index's.
  const fields = index.fields.filter(
    (field, i, all) =>
      !(field.fieldPath === "__name__" && i === all.length - 1 && field.order === all[i - 1]?.order),
  );
  const scope = index.queryScope === "COLLECTION_GROUP" ? " [collection group]" : "";
  return `${describeIndex({
    collectionGroup,
    fields: fields.map((field) =>
      field.arrayConfig
        ? { fieldPath: field.fieldPath, arrayConfig: "CONTAINS" as const }
        : { fieldPath: field.fieldPath, order: field.order ?? "ASCENDING" },
    ),
  })}${scope}`;
}

/** Everything deployed that the definitions do not declare. */
export async function findIndexDrift(
  controlPlane: ControlPlane,
  definitions: IndexDefinitions,
  options: GateOptions = {},
): Promise<Drift[]> {
  const call = retrying(options);
  const drift: Drift[] = [];
  for (const index of await call(() => controlPlane.listIndexes())) {
    if (!definitions.indexes.some((definition) => indexMatches(index, definition))) {
      drift.push({ kind: "index", item: `index ${describeDeployedIndex(index)}`, name: index.name ?? "" });
    }
  }
  const declared = (field: Field, ttl: boolean) => {
    const { collectionGroup, fieldPath } = parseFieldName(field.name);
    return definitions.fieldOverrides.some(
      (entry) =>
        entry.collectionGroup === collectionGroup && entry.fieldPath === fieldPath && (!ttl || entry.ttl),
    );
  };
  for (const field of await call(() => controlPlane.listFieldOverrides())) {
    const { collectionGroup, fieldPath } = parseFieldName(field.name);
    if (field.indexConfig?.usesAncestorConfig === false && !declared(field, false)) {
      const count = field.indexConfig.indexes?.length ?? 0;
      drift.push({
        kind: "field_indexes",
        item: `field override ${collectionGroup}.${fieldPath} (${count === 0 ? "exempt" : `${count} single-field index${count === 1 ? "" : "es"}`})`,
        collectionGroup,
        fieldPath,
      });
    }
    if (field.ttlConfig && !declared(field, true)) {
      drift.push({ kind: "ttl", item: `ttl ${collectionGroup}.${fieldPath}`, collectionGroup, fieldPath });
    }
  }
  return drift;
}

/** Drift as status lines: never ready, so that `indexes status` fails on it. */
export function driftStatuses(drift: Drift[]): ItemStatus[] {
  return drift.map((entry) => ({
    item: entry.item,
    state: "UNDECLARED",
    ready: false,
    drift: true,
    detail: "not in the definitions file: remove with indexes deploy --prune",
  }));
}

/**
 * Removes drift: deletes undeclared composite indexes, reverts undeclared field overrides to the database
 * default, turns off undeclared TTL policies. TTL policies go first: Firestore allows one per collection
 * group, and a declared one may be waiting for its place.
 */
export async function pruneIndexDrift(
  controlPlane: ControlPlane,
  drift: Drift[],
  options: GateOptions = {},
): Promise<ItemStatus[]> {
  const call = retrying(options);
  const ordered = [...drift].sort((a, b) => Number(b.kind === "ttl") - Number(a.kind === "ttl"));
  const results: ItemStatus[] = [];
  for (const entry of ordered) {
    if (entry.kind === "index") {
      await call(() => controlPlane.deleteIndex(entry.name));
      results.push({
        item: entry.item,
        state: "DELETED",
        ready: true,
        changed: true,
        drift: true,
        detail: "pruned",
      });
    } else if (entry.kind === "field_indexes") {
      await call(() => controlPlane.revertFieldIndexes(entry.collectionGroup, entry.fieldPath));
      results.push({
        item: entry.item,
        state: "REVERTING",
        ready: true,
        changed: true,
        drift: true,
        detail: "pruned: back to the database default",
      });
    } else {
      await call(() => controlPlane.disableTtl(entry.collectionGroup, entry.fieldPath));
      results.push({
        item: entry.item,
        state: "REMOVING",
        ready: true,
        changed: true,
        drift: true,
        detail: "pruned: TTL turned off",
      });
    }
  }
  return results;
}
