import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type Database, type Field, type Index, type Operation, statusForHttp } from "../control-plane.js";

/**
 * A local fake of the Service Usage and Firestore Admin REST endpoints Firebrick uses, returning the
 * real response shapes (long-running operations, Google API error bodies). Both control-plane
 * implementations are tested against it: the REST one directly, the real `gcloud` binary through its
 * endpoint override variables (see `gcloudEnv`).
 */

export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
}

export interface Fault {
  method?: string;
  /** Matched against the decoded path, e.g. `/databases/\(default\)$/`. */
  path: RegExp;
  status: number;
  /** The canonical status in the error body; derived from `status` when omitted. */
  reason?: string;
  message?: string;
  /** How many matching requests fail; then the fault is spent. Default 1; `Infinity` for ever. */
  times?: number;
}

export interface FakeProject {
  projectNumber: string;
  firestoreEnabled: boolean;
  database: Database | null;
  indexes: Map<string, Index & { collectionGroup: string }>;
  fields: Map<string, Field>;
}

export interface FakeOptions {
  /** The bearer token every request must carry. */
  token?: string;
  /** How many `operations.get` polls a database creation needs before it is done (`Infinity`: never). */
  createDatabasePolls?: number;
}

interface PendingOperation {
  operation: Operation;
  pollsLeft: number;
  complete: () => Record<string, unknown>;
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason = statusForHttp(status),
  ) {
    super(message);
  }
}

export class FakeControlPlane {
  readonly requests: FakeRequest[] = [];
  readonly token: string;
  createDatabasePolls: number;
  private readonly projects = new Map<string, FakeProject>();
  private readonly operations = new Map<string, PendingOperation>();
  private readonly faults: Fault[] = [];
  private server: Server | undefined;
  private port = 0;

  constructor(options: FakeOptions = {}) {
    this.token = options.token ?? `fake-token-${randomBytes(8).toString("hex")}`;
    this.createDatabasePolls = options.createDatabasePolls ?? 1;
  }

  /** Starts listening on a free port on 127.0.0.1. */
  async start(): Promise<this> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }

  /** The base URL, with the trailing slash gcloud's endpoint overrides want. */
  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  /** A project's state, created on first use: API disabled, no database. */
  project(projectId: string): FakeProject {
    let project = this.projects.get(projectId);
    if (!project) {
      project = {
        projectNumber: String(100_000_000_000 + this.projects.size),
        firestoreEnabled: false,
        database: null,
        indexes: new Map(),
        fields: new Map(),
      };
      this.projects.set(projectId, project);
    }
    return project;
  }

  /** A project whose API is enabled and whose default database exists (Native mode unless told). */
  provisioned(projectId: string, type: Database["type"] = "FIRESTORE_NATIVE"): FakeProject {
    const project = this.project(projectId);
    project.firestoreEnabled = true;
    project.database = databaseResource(projectId, "us-east4", type);
    return project;
  }

  injectFault(fault: Fault): void {
    this.faults.push({ times: 1, ...fault });
  }

  /** Every index still building (composite or single-field) becomes READY, every TTL still being applied ACTIVE. */
  finishBuilds(): void {
    for (const project of this.projects.values()) {
      for (const index of project.indexes.values()) if (index.state === "CREATING") index.state = "READY";
      for (const field of project.fields.values()) {
        if (field.ttlConfig?.state === "CREATING") field.ttlConfig.state = "ACTIVE";
        for (const index of field.indexConfig?.indexes ?? [])
          if (index.state === "CREATING") index.state = "READY";
      }
    }
  }

  /** Requests that change something (anything but GET). */
  mutations(): FakeRequest[] {
    return this.requests.filter((request) => request.method !== "GET");
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString();
    const url = new URL(request.url ?? "/", "http://fake");
    const path = decodeURIComponent(url.pathname);
    const method = request.method ?? "GET";
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    this.requests.push({ method, path, query: Object.fromEntries(url.searchParams), body });
    try {
      if (request.headers.authorization !== `Bearer ${this.token}`) {
        throw new HttpFailure(401, "Request had invalid authentication credentials.");
      }
      const fault = this.faults.find(
        (candidate) =>
          (candidate.times ?? 1) > 0 &&
          candidate.path.test(path) &&
          (!candidate.method || candidate.method === method),
      );
      if (fault) {
        fault.times = (fault.times ?? 1) - 1;
        throw new HttpFailure(fault.status, fault.message ?? "Injected fault.", fault.reason);
      }
      const result = this.route(method, path, url.searchParams, body);
      send(response, 200, result);
    } catch (error) {
      if (error instanceof HttpFailure) {
        send(response, error.status, {
          error: { code: error.status, message: error.message, status: error.reason },
        });
      } else {
        send(response, 500, { error: { code: 500, message: String(error), status: "INTERNAL" } });
      }
    }
  }

  private route(method: string, path: string, query: URLSearchParams, body: unknown): unknown {
    // The groups of the last pattern that matched.
    let match = [] as unknown as RegExpMatchArray;
    const matches = (pattern: RegExp, subject = path): boolean => {
      const found = subject.match(pattern);
      if (found) match = found;
      return found !== null;
    };
    // Service Usage
    if (matches(/^\/v1\/operations\/(.+)$/) && method === "GET") {
      return this.pollOperation(`operations/${match[1]}`);
    }
    if (matches(/^\/v1\/projects\/([^/]+)\/services$/) && method === "GET") {
      const project = this.project(match[1]!);
      const services = project.firestoreEnabled ? [this.serviceResource(match[1]!)] : [];
      const filter = query.get("filter");
      return filter === "state:ENABLED" || !filter
        ? { services }
        : { services: services.filter(() => !filter.includes("DISABLED")) };
    }
    if (matches(/^\/v1\/projects\/([^/]+)\/services\/([^/:]+)$/) && method === "GET") {
      if (match[2] !== "firestore.googleapis.com") return this.otherService(match[1]!, match[2]!);
      return this.serviceResource(match[1]!);
    }
    if (matches(/^\/v1\/projects\/([^/]+)\/services\/([^/:]+):enable$/) && method === "POST") {
      const projectId = match[1]!;
      if (match[2] !== "firestore.googleapis.com") {
        throw new HttpFailure(400, `Service ${match[2]} is not known to this fake.`);
      }
      return this.startOperation(
        `operations/acat.p2-${this.project(projectId).projectNumber}-${id()}`,
        1,
        {},
        () => {
          this.project(projectId).firestoreEnabled = true;
          return {
            "@type": "type.googleapis.com/google.api.serviceusage.v1.EnableServiceResponse",
            service: this.serviceResource(projectId),
          };
        },
      );
    }
    // Firestore Admin
    if (!matches(/^\/v1\/projects\/([^/]+)\/databases(.*)$/)) {
      throw new HttpFailure(404, `Unknown path ${path}.`);
    }
    const projectId = match[1]!;
    const rest = match[2]!;
    const project = this.project(projectId);
    if (!project.firestoreEnabled) {
      throw new HttpFailure(
        403,
        `Cloud Firestore API has not been used in project ${project.projectNumber} before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/firestore.googleapis.com/overview?project=${project.projectNumber} then retry.`,
      );
    }
    const prefix = `projects/${projectId}/databases/(default)`;
    if (rest === "" && method === "POST") {
      if (query.get("databaseId") !== "(default)")
        throw new HttpFailure(400, "Only (default) is supported here.");
      if (project.database) throw new HttpFailure(409, `Database ${prefix} already exists.`);
      const request = body as { locationId?: string; type?: Database["type"] };
      if (!request?.locationId) throw new HttpFailure(400, "locationId is required.");
      const created = databaseResource(projectId, request.locationId, request.type ?? "FIRESTORE_NATIVE");
      return this.startOperation(
        `${prefix}/operations/${id()}`,
        this.createDatabasePolls,
        { "@type": "type.googleapis.com/google.firestore.admin.v1.CreateDatabaseMetadata" },
        () => {
          project.database = created;
          return { "@type": "type.googleapis.com/google.firestore.admin.v1.Database", ...created };
        },
      );
    }
    if (!rest.startsWith("/(default)")) throw new HttpFailure(404, `Database ${path} does not exist.`);
    const sub = rest.slice("/(default)".length);
    if (sub === "" && method === "GET") {
      if (!project.database) {
        throw new HttpFailure(404, `Project '${projectId}' or database '(default)' does not exist.`);
      }
      return project.database;
    }
    // A database's creation is polled before the database exists.
    if (matches(/^\/operations\/([^/]+)$/, sub) && method === "GET") {
      return this.pollOperation(`${prefix}/operations/${match[1]}`);
    }
    if (!project.database)
      throw new HttpFailure(404, `Project '${projectId}' or database '(default)' does not exist.`);
    if (sub === "/collectionGroups/-/indexes" && method === "GET") {
      return { indexes: [...project.indexes.values()].map(({ collectionGroup: _, ...index }) => index) };
    }
    if (matches(/^\/collectionGroups\/([^/]+)\/indexes$/, sub) && method === "POST") {
      const collectionGroup = match[1]!;
      const requested = body as Index;
      if (!Array.isArray(requested?.fields) || requested.fields.length < 2) {
        throw new HttpFailure(400, "An index needs at least two fields.");
      }
      const signature = indexSignature(collectionGroup, requested);
      if (
        [...project.indexes.values()].some(
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
      project.indexes.set(name, index);
      return this.startOperation(
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
    if (sub === "/collectionGroups/-/fields" && method === "GET") {
      const filter = query.get("filter") ?? "";
      const fields = [...project.fields.values()].filter((field) =>
        filter.startsWith("ttlConfig")
          ? field.ttlConfig !== undefined
          : field.indexConfig?.usesAncestorConfig === false,
      );
      return { fields };
    }
    if (matches(/^\/collectionGroups\/([^/]+)\/fields\/([^/]+)$/, sub)) {
      const name = `${prefix}/collectionGroups/${match[1]}/fields/${match[2]}`;
      const field = project.fields.get(name) ?? inheritedField(name, prefix);
      if (method === "GET") return field;
      if (method === "PATCH") {
        const mask = query.get("updateMask") ?? "";
        const update = (body ?? {}) as Field;
        const next: Field = structuredClone(field);
        if (mask.includes("ttlConfig")) next.ttlConfig = update.ttlConfig ? { state: "CREATING" } : undefined;
        if (mask.includes("indexConfig")) {
          // Like Firestore: the field path is the field's (gcloud sends only order/arrayConfig), and the
          // new indexes build first (CREATING until finishBuilds).
          const indexes = (update.indexConfig?.indexes ?? []).map((index) => ({
            ...index,
            fields: index.fields.map((entry) => ({ ...entry, fieldPath: decodeURIComponent(match[2]!) })),
            state: "CREATING" as const,
          }));
          next.indexConfig = { indexes, usesAncestorConfig: false };
        }
        if (!mask) throw new HttpFailure(400, "updateMask is required here.");
        project.fields.set(name, next);
        return this.startOperation(
          `${prefix}/operations/${id()}`,
          1,
          {
            "@type": "type.googleapis.com/google.firestore.admin.v1.FieldOperationMetadata",
            field: name,
            state: "INITIALIZING",
            ...(mask.includes("ttlConfig") && { ttlConfigDelta: { changeType: "ADD" } }),
          },
          () => ({ "@type": "type.googleapis.com/google.firestore.admin.v1.Field", ...next }),
        );
      }
    }
    throw new HttpFailure(404, `Unknown path ${path}.`);
  }

  private serviceResource(projectId: string) {
    const project = this.project(projectId);
    return {
      name: `projects/${project.projectNumber}/services/firestore.googleapis.com`,
      config: { name: "firestore.googleapis.com", title: "Cloud Firestore API" },
      state: project.firestoreEnabled ? "ENABLED" : "DISABLED",
      parent: `projects/${project.projectNumber}`,
    };
  }

  private otherService(projectId: string, service: string) {
    const project = this.project(projectId);
    return {
      name: `projects/${project.projectNumber}/services/${service}`,
      config: { name: service },
      state: "DISABLED",
      parent: `projects/${project.projectNumber}`,
    };
  }

  private startOperation(
    name: string,
    polls: number,
    metadata: Record<string, unknown>,
    complete: () => Record<string, unknown>,
  ): Operation {
    const operation: Operation = { name, metadata, done: false };
    this.operations.set(name, { operation, pollsLeft: polls, complete });
    return operation;
  }

  private pollOperation(name: string): Operation {
    const pending = this.operations.get(name);
    if (!pending) throw new HttpFailure(404, `Operation ${name} not found.`);
    if (!pending.operation.done) {
      pending.pollsLeft -= 1;
      if (pending.pollsLeft <= 0) {
        pending.operation = { ...pending.operation, done: true, response: pending.complete() };
      }
    }
    return pending.operation;
  }
}

/** The environment that points the real `gcloud` at a fake: endpoints, token, a scratch config dir. */
export function gcloudEnv(fake: FakeControlPlane, scratchDir: string, tokenFile: string): NodeJS.ProcessEnv {
  return {
    CLOUDSDK_CONFIG: scratchDir,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_FIRESTORE: fake.url,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_SERVICEUSAGE: fake.url,
    CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: tokenFile,
    CLOUDSDK_CORE_DISABLE_PROMPTS: "1",
    CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: "1",
    CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: "1",
  };
}

function databaseResource(projectId: string, locationId: string, type: Database["type"]): Database {
  const now = new Date().toISOString();
  return {
    name: `projects/${projectId}/databases/(default)`,
    uid: crypto.randomUUID(),
    createTime: now,
    updateTime: now,
    locationId,
    type,
    concurrencyMode: "PESSIMISTIC",
    versionRetentionPeriod: "3600s",
    earliestVersionTime: now,
    appEngineIntegrationMode: "DISABLED",
    pointInTimeRecoveryEnablement: "POINT_IN_TIME_RECOVERY_DISABLED",
    deleteProtectionState: "DELETE_PROTECTION_DISABLED",
    databaseEdition: "STANDARD",
    etag: id(),
  };
}

/** A field with no override of its own inherits the database-wide default (`__default__/fields/*`). */
function inheritedField(name: string, prefix: string): Field {
  return {
    name,
    indexConfig: {
      indexes: [
        {
          queryScope: "COLLECTION",
          fields: [{ fieldPath: name.split("/").at(-1)!, order: "ASCENDING" }],
          state: "READY",
        },
        {
          queryScope: "COLLECTION",
          fields: [{ fieldPath: name.split("/").at(-1)!, order: "DESCENDING" }],
          state: "READY",
        },
        {
          queryScope: "COLLECTION",
          fields: [{ fieldPath: name.split("/").at(-1)!, arrayConfig: "CONTAINS" }],
          state: "READY",
        },
      ],
      usesAncestorConfig: true,
      ancestorField: `${prefix}/collectionGroups/__default__/fields/*`,
    },
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

function id(): string {
  return randomBytes(9).toString("base64url");
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json; charset=UTF-8" });
  response.end(JSON.stringify(body));
}
