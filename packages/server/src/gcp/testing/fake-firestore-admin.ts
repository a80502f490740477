import {
  type BackupSchedule,
  DAYS_OF_WEEK,
  type Database,
  durationSeconds,
  FIRESTORE_SERVICE,
  type Field,
  type Index,
} from "../control-plane.js";
import { requireService } from "./fake-service-usage.js";
import {
  etag,
  type FakeApi,
  type FakeContext,
  type FakeDatabase,
  type FakeProject,
  HttpFailure,
  id,
  now,
  route,
} from "./fake-state.js";

/** Firestore Admin v1: databases (create, get, PATCH), operations, backup schedules, indexes, fields. */

const DATABASE_ID = /^(?:\(default\)|[a-z][a-z0-9-]{2,61}[a-z0-9])$/;
// Firestore keeps backups for at most 14 weeks, whatever the recurrence.
const MAX_RETENTION_SECONDS = 14 * 7 * 86_400;
const UPDATABLE_DATABASE_FIELDS = new Set(["name", "pointInTimeRecoveryEnablement", "deleteProtectionState"]);

export const firestoreAdmin: FakeApi = (context, { method, path, query, body }) => {
  const match = path.match(/^\/v1\/projects\/([^/]+)\/databases(?:\/([^/]+)(\/.*)?)?$/);
  if (!match) return undefined;
  const [, projectId, databaseId, sub = ""] = match as unknown as [
    string,
    string,
    string | undefined,
    string,
  ];
  const project = context.project(projectId);
  requireService(project, FIRESTORE_SERVICE);
  if (databaseId === undefined) {
    if (method !== "POST") throw new HttpFailure(404, `Unknown path ${path}.`);
    return createDatabase(context, project, query.get("databaseId") ?? "", body);
  }
  const prefix = `projects/${projectId}/databases/${databaseId}`;
  // A database's creation (and any other operation) is polled whether or not the database exists yet.
  const operation = route(sub, method, "GET", /^\/operations\/([^/]+)$/);
  if (operation) return context.pollOperation(`${prefix}/operations/${operation[0]}`);
  const database = project.databases.get(databaseId);
  if (!database) {
    throw new HttpFailure(404, `Project '${projectId}' or database '${databaseId}' does not exist.`);
  }
  if (sub === "" && method === "GET") return database.resource;
  if (sub === "" && method === "PATCH") return updateDatabase(context, database, prefix, query, body);
  return (
    backupSchedules(database, prefix, sub, method, body) ??
    indexes(context, database, prefix, sub, method, body) ??
    fields(context, database, prefix, sub, method, query, body) ??
    notFound(path)
  );
};

function notFound(path: string): never {
  throw new HttpFailure(404, `Unknown path ${path}.`);
}

function createDatabase(context: FakeContext, project: FakeProject, databaseId: string, body: unknown) {
  if (!DATABASE_ID.test(databaseId)) {
    throw new HttpFailure(400, `Invalid database id ${JSON.stringify(databaseId)}.`);
  }
  const prefix = `projects/${project.projectId}/databases/${databaseId}`;
  if (project.databases.has(databaseId)) {
    throw new HttpFailure(409, `Database ${prefix} already exists. Please use another database_id.`);
  }
  const request = (body ?? {}) as Partial<Database>;
  if (!request.locationId) throw new HttpFailure(400, "locationId is required.");
  const created = databaseResource(project.projectId, databaseId, request.locationId, request.type);
  if (request.pointInTimeRecoveryEnablement === "POINT_IN_TIME_RECOVERY_ENABLED") {
    created.pointInTimeRecoveryEnablement = "POINT_IN_TIME_RECOVERY_ENABLED";
    created.versionRetentionPeriod = "604800s";
  }
  if (request.deleteProtectionState === "DELETE_PROTECTION_ENABLED") {
    created.deleteProtectionState = "DELETE_PROTECTION_ENABLED";
  }
  return context.startOperation(
    `${prefix}/operations/${id()}`,
    context.createDatabasePolls,
    { "@type": "type.googleapis.com/google.firestore.admin.v1.CreateDatabaseMetadata" },
    () => {
      project.addDatabase(databaseId, created);
      return { "@type": "type.googleapis.com/google.firestore.admin.v1.Database", ...created };
    },
  );
}

function updateDatabase(
  context: FakeContext,
  database: FakeDatabase,
  prefix: string,
  query: URLSearchParams,
  body: unknown,
) {
  const mask = (query.get("updateMask") ?? "").split(",").filter(Boolean);
  const unknown = mask.filter((field) => !UPDATABLE_DATABASE_FIELDS.has(field));
  if (mask.length === 0 || unknown.length > 0) {
    throw new HttpFailure(400, `Invalid update mask: ${unknown.join(", ") || "(empty)"}.`);
  }
  const update = (body ?? {}) as Partial<Database>;
  const next: Database = { ...database.resource };
  if (mask.includes("pointInTimeRecoveryEnablement")) {
    next.pointInTimeRecoveryEnablement =
      update.pointInTimeRecoveryEnablement ?? "POINT_IN_TIME_RECOVERY_DISABLED";
    // PITR keeps 7 days of versions; without it, one hour.
    next.versionRetentionPeriod =
      next.pointInTimeRecoveryEnablement === "POINT_IN_TIME_RECOVERY_ENABLED" ? "604800s" : "3600s";
  }
  if (mask.includes("deleteProtectionState")) {
    next.deleteProtectionState = update.deleteProtectionState ?? "DELETE_PROTECTION_DISABLED";
  }
  return context.startOperation(
    `${prefix}/operations/${id()}`,
    1,
    { "@type": "type.googleapis.com/google.firestore.admin.v1.UpdateDatabaseMetadata" },
    () => {
      database.resource = { ...next, updateTime: now(), etag: etag() };
      return { "@type": "type.googleapis.com/google.firestore.admin.v1.Database", ...database.resource };
    },
  );
}

function backupSchedules(database: FakeDatabase, prefix: string, sub: string, method: string, body: unknown) {
  if (sub === "/backupSchedules" && method === "GET") {
    return { backupSchedules: [...database.backupSchedules.values()] };
  }
  if (sub === "/backupSchedules" && method === "POST") {
    const request = (body ?? {}) as Partial<BackupSchedule>;
    validateRetention(request.retention);
    const daily = request.dailyRecurrence !== undefined;
    const weekly = request.weeklyRecurrence !== undefined;
    if (daily === weekly)
      throw new HttpFailure(400, "Exactly one of daily or weekly recurrence is required.");
    if (weekly && !DAYS_OF_WEEK.includes(request.weeklyRecurrence!.day)) {
      throw new HttpFailure(400, "weekly_recurrence.day must be a day of the week.");
    }
    // Firestore allows one daily and one weekly schedule per database.
    const taken = [...database.backupSchedules.values()].some((schedule) =>
      daily ? schedule.dailyRecurrence !== undefined : schedule.weeklyRecurrence !== undefined,
    );
    if (taken) {
      throw new HttpFailure(409, `A ${daily ? "daily" : "weekly"} backup schedule already exists.`);
    }
    const time = now();
    const schedule: BackupSchedule = {
      name: `${prefix}/backupSchedules/${crypto.randomUUID()}`,
      createTime: time,
      updateTime: time,
      retention: request.retention!,
      ...(daily ? { dailyRecurrence: {} } : { weeklyRecurrence: { day: request.weeklyRecurrence!.day } }),
    };
    database.backupSchedules.set(schedule.name, schedule);
    return schedule;
  }
  const one = sub.match(/^\/backupSchedules\/([^/]+)$/);
  if (!one) return undefined;
  const name = `${prefix}/backupSchedules/${one[1]}`;
  const schedule = database.backupSchedules.get(name);
  if (!schedule) throw new HttpFailure(404, `Backup schedule ${name} not found.`);
  if (method === "GET") return schedule;
  if (method === "DELETE") {
    database.backupSchedules.delete(name);
    return {};
  }
  if (method === "PATCH") {
    // gcloud sends no update mask: only the retention can change.
    const request = (body ?? {}) as Partial<BackupSchedule>;
    validateRetention(request.retention);
    const updated = { ...schedule, retention: request.retention!, updateTime: now() };
    database.backupSchedules.set(name, updated);
    return updated;
  }
  return undefined;
}

function validateRetention(retention: string | undefined): void {
  const seconds = durationSeconds(retention);
  if (!(seconds > 0) || seconds > MAX_RETENTION_SECONDS) {
    throw new HttpFailure(
      400,
      `retention must be a positive duration of at most 14 weeks (got ${retention}).`,
    );
  }
}

function indexes(
  context: FakeContext,
  database: FakeDatabase,
  prefix: string,
  sub: string,
  method: string,
  body: unknown,
) {
  if (sub === "/collectionGroups/-/indexes" && method === "GET") {
    return { indexes: [...database.indexes.values()].map(({ collectionGroup: _, ...index }) => index) };
  }
  const create = route(sub, method, "POST", /^\/collectionGroups\/([^/]+)\/indexes$/);
  if (create) {
    const collectionGroup = create[0]!;
    const requested = body as Index;
    if (!Array.isArray(requested?.fields) || requested.fields.length < 2) {
      throw new HttpFailure(400, "An index needs at least two fields.");
    }
    const signature = indexSignature(collectionGroup, requested);
    if (
      [...database.indexes.values()].some(
        (index) => indexSignature(index.collectionGroup, index) === signature,
      )
    ) {
      throw new HttpFailure(409, "Index already exists.");
    }
    const name = `${prefix}/collectionGroups/${collectionGroup}/indexes/${id()}`;
    const index = {
      name,
      collectionGroup,
      queryScope: requested.queryScope ?? "COLLECTION",
      fields: [
        ...requested.fields,
        { fieldPath: "__name__", order: requested.fields.at(-1)?.order ?? "ASCENDING" },
      ],
      state: "CREATING" as const,
    };
    database.indexes.set(name, index);
    return context.startOperation(
      `${prefix}/operations/${id()}`,
      1,
      {
        "@type": "type.googleapis.com/google.firestore.admin.v1.IndexOperationMetadata",
        index: name,
        state: "INITIALIZING",
      },
      () => ({ "@type": "type.googleapis.com/google.firestore.admin.v1.Index", ...index }),
    );
  }
  // gcloud deletes through `collectionGroups/-/indexes/ID`: an index id is unique in its database.
  const remove = route(sub, method, "DELETE", /^\/collectionGroups\/([^/]+)\/indexes\/([^/]+)$/);
  if (remove) {
    const found = [...database.indexes.values()].find(
      (index) =>
        index.name!.endsWith(`/indexes/${remove[1]}`) &&
        (remove[0] === "-" || index.collectionGroup === remove[0]),
    );
    if (!found) throw new HttpFailure(404, `Index ${remove[1]} not found.`);
    database.indexes.delete(found.name!);
    return {};
  }
  return undefined;
}

function fields(
  context: FakeContext,
  database: FakeDatabase,
  prefix: string,
  sub: string,
  method: string,
  query: URLSearchParams,
  body: unknown,
) {
  if (sub === "/collectionGroups/-/fields" && method === "GET") {
    // The filters gcloud (`indexes fields list`, `fields ttls list`) and the Firebase CLI send.
    const filter = (query.get("filter") ?? "").replace(/\s+/g, " ");
    const overrides = /usesAncestorConfig[:=]false/.test(filter);
    const ttl = /ttlConfig:\*/.test(filter);
    if (!overrides && !ttl) throw new HttpFailure(400, `Unsupported filter ${JSON.stringify(filter)}.`);
    const found = [...database.fields.values()].filter(
      (field) =>
        (overrides && field.indexConfig?.usesAncestorConfig === false) ||
        (ttl && field.ttlConfig !== undefined),
    );
    // Like Firestore, the index-override listing includes the database-wide default.
    return { fields: overrides ? [defaultField(prefix), ...found] : found };
  }
  const one = sub.match(/^\/collectionGroups\/([^/]+)\/fields\/([^/]+)$/);
  if (!one) return undefined;
  const name = `${prefix}/collectionGroups/${one[1]}/fields/${one[2]}`;
  const fieldPath = decodeURIComponent(one[2]!);
  const field = database.fields.get(name) ?? inheritedField(name, prefix, fieldPath);
  if (method === "GET") return field;
  if (method !== "PATCH") return undefined;
  // Without a mask every field of the body is written, absent ones cleared (the Firebase CLI's "delete").
  const mask = query.get("updateMask") ?? "indexConfig,ttlConfig";
  const update = (body ?? {}) as Field;
  const next: Field = structuredClone(field);
  if (mask.includes("ttlConfig")) {
    const collectionGroup = name.split("/collectionGroups/")[1]!.split("/")[0];
    const other = [...database.fields.values()].find(
      (entry) =>
        entry.name !== name &&
        entry.ttlConfig &&
        entry.name.includes(`/collectionGroups/${collectionGroup}/`),
    );
    if (update.ttlConfig && other && !field.ttlConfig) {
      throw new HttpFailure(
        400,
        `Only one field per collection group can be a TTL field (${other.name} is).`,
        "FAILED_PRECONDITION",
      );
    }
    if (update.ttlConfig) next.ttlConfig = { state: "CREATING" };
    else delete next.ttlConfig;
  }
  if (mask.includes("indexConfig")) {
    if (update.indexConfig === undefined) {
      // Reverting: the field inherits the database-wide default again.
      next.indexConfig = inheritedField(name, prefix, fieldPath).indexConfig!;
    } else {
      // Like Firestore: the field path is the field's (gcloud sends only order/arrayConfig), and the new
      // indexes build first (CREATING until finishBuilds).
      const indexes = (update.indexConfig.indexes ?? []).map((index) => ({
        ...index,
        fields: index.fields.map((entry) => ({ ...entry, fieldPath })),
        state: "CREATING" as const,
      }));
      next.indexConfig = { indexes, usesAncestorConfig: false };
    }
  }
  if (next.indexConfig?.usesAncestorConfig !== false && next.ttlConfig === undefined)
    database.fields.delete(name);
  else database.fields.set(name, next);
  return context.startOperation(
    `${prefix}/operations/${id()}`,
    1,
    {
      "@type": "type.googleapis.com/google.firestore.admin.v1.FieldOperationMetadata",
      field: name,
      state: "INITIALIZING",
      ...(mask.includes("ttlConfig") && {
        ttlConfigDelta: { changeType: update.ttlConfig ? "ADD" : "REMOVE" },
      }),
    },
    () => ({ "@type": "type.googleapis.com/google.firestore.admin.v1.Field", ...next }),
  );
}

export function databaseResource(
  projectId: string,
  databaseId: string,
  locationId: string,
  type: Database["type"] = "FIRESTORE_NATIVE",
): Database {
  const time = now();
  return {
    name: `projects/${projectId}/databases/${databaseId}`,
    uid: crypto.randomUUID(),
    createTime: time,
    updateTime: time,
    locationId,
    type,
    concurrencyMode: "PESSIMISTIC",
    versionRetentionPeriod: "3600s",
    earliestVersionTime: time,
    appEngineIntegrationMode: "DISABLED",
    pointInTimeRecoveryEnablement: "POINT_IN_TIME_RECOVERY_DISABLED",
    deleteProtectionState: "DELETE_PROTECTION_DISABLED",
    databaseEdition: "STANDARD",
    etag: etag(),
  };
}

function singleFieldIndexes(fieldPath: string): Index[] {
  return [
    { queryScope: "COLLECTION", fields: [{ fieldPath, order: "ASCENDING" }], state: "READY" },
    { queryScope: "COLLECTION", fields: [{ fieldPath, order: "DESCENDING" }], state: "READY" },
    { queryScope: "COLLECTION", fields: [{ fieldPath, arrayConfig: "CONTAINS" }], state: "READY" },
  ];
}

/** A field with no override of its own inherits the database-wide default (`__default__/fields/*`). */
function inheritedField(name: string, prefix: string, fieldPath: string): Field {
  return {
    name,
    indexConfig: {
      indexes: singleFieldIndexes(fieldPath),
      usesAncestorConfig: true,
      ancestorField: `${prefix}/collectionGroups/__default__/fields/*`,
    },
  };
}

function defaultField(prefix: string): Field {
  return {
    name: `${prefix}/collectionGroups/__default__/fields/*`,
    indexConfig: { indexes: singleFieldIndexes("*") },
  };
}

function indexSignature(collectionGroup: string, index: Pick<Index, "queryScope" | "fields">): string {
  const fields = index.fields.filter((field) => field.fieldPath !== "__name__");
  return JSON.stringify([
    collectionGroup,
    index.queryScope ?? "COLLECTION",
    fields.map((f) => [f.fieldPath, f.order ?? f.arrayConfig]),
  ]);
}
