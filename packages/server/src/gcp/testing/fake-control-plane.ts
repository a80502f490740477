import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type Database,
  DEFAULT_DATABASE,
  FIRESTORE_SERVICE,
  GCP_APIS,
  type Operation,
} from "../control-plane.js";
import { createRestControlPlane, type RestControlPlaneOptions } from "../rest.js";
import { databaseResource, firestoreAdmin } from "./fake-firestore-admin.js";
import { iam, resourceManager } from "./fake-iam.js";
import { secretManager } from "./fake-secret-manager.js";
import { serviceUsage } from "./fake-service-usage.js";
import {
  type FakeApi,
  type FakeContext,
  FakeProject,
  HttpFailure,
  type PendingOperation,
} from "./fake-state.js";

/**
 * A local fake of the GCP REST endpoints Firebrick uses — Service Usage, Firestore Admin, IAM, Resource
 * Manager and Secret Manager — returning the real response shapes (long-running operations, Google API
 * error bodies, etags). Both control-plane implementations are tested against it: the REST one directly,
 * the real `gcloud` binary through its endpoint override variables (see `gcloudEnv`).
 */

export { FakeProject } from "./fake-state.js";

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

export interface FakeOptions {
  /** The bearer token every request must carry. */
  token?: string;
  /** How many `operations.get` polls a database creation needs before it is done (`Infinity`: never). */
  createDatabasePolls?: number;
  /** How many policy writes refuse a just-created service account (IAM's propagation delay). Default 0. */
  serviceAccountPropagation?: number;
}

// Each API's routes, tried in turn; Resource Manager's `projects/P:verb` goes before the `projects/P/…` ones.
const APIS: FakeApi[] = [resourceManager, serviceUsage, iam, secretManager, firestoreAdmin];

// POSTs that read: they do not count as mutations.
const READING_POST = /:(getIamPolicy|testIamPermissions)$/;

export class FakeControlPlane implements FakeContext {
  readonly requests: FakeRequest[] = [];
  readonly token: string;
  createDatabasePolls: number;
  serviceAccountPropagation: number;
  private readonly projects = new Map<string, FakeProject>();
  private readonly operations = new Map<string, PendingOperation>();
  private readonly faults: Fault[] = [];
  private server: Server | undefined;
  private port = 0;

  constructor(options: FakeOptions = {}) {
    this.token = options.token ?? `fake-token-${randomBytes(8).toString("hex")}`;
    this.createDatabasePolls = options.createDatabasePolls ?? 1;
    this.serviceAccountPropagation = options.serviceAccountPropagation ?? 0;
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

  /** A project's state, created on first use: every API disabled, no database, nothing else. */
  project(projectId: string): FakeProject {
    let project = this.projects.get(projectId);
    if (!project) {
      project = new FakeProject(projectId, String(100_000_000_000 + this.projects.size));
      this.projects.set(projectId, project);
    }
    return project;
  }

  /**
   * A project whose Firestore API is enabled and whose database (`(default)` unless named) exists, in
   * Native mode unless told.
   */
  provisioned(
    projectId: string,
    type: Database["type"] = "FIRESTORE_NATIVE",
    databaseId = DEFAULT_DATABASE,
  ): FakeProject {
    const project = this.project(projectId);
    project.services.add(FIRESTORE_SERVICE);
    project.addDatabase(databaseId, databaseResource(projectId, databaseId, "us-east4", type));
    return project;
  }

  injectFault(fault: Fault): void {
    this.faults.push({ times: 1, ...fault });
  }

  /** Every index still building (composite or single-field) becomes READY, every TTL still being applied ACTIVE. */
  finishBuilds(): void {
    for (const project of this.projects.values()) {
      for (const database of project.databases.values()) {
        for (const index of database.indexes.values()) if (index.state === "CREATING") index.state = "READY";
        for (const field of database.fields.values()) {
          if (field.ttlConfig?.state === "CREATING") field.ttlConfig.state = "ACTIVE";
          for (const index of field.indexConfig?.indexes ?? [])
            if (index.state === "CREATING") index.state = "READY";
        }
      }
    }
  }

  /** Requests that change something (anything but a GET or a reading POST). */
  mutations(): FakeRequest[] {
    return this.requests.filter((request) => request.method !== "GET" && !READING_POST.test(request.path));
  }

  startOperation(
    name: string,
    polls: number,
    metadata: Record<string, unknown>,
    complete: () => Record<string, unknown>,
  ): Operation {
    const operation: Operation = { name, metadata, done: false };
    this.operations.set(name, { operation, pollsLeft: polls, complete });
    return operation;
  }

  pollOperation(name: string): Operation {
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
      for (const api of APIS) {
        const result = api(this, { method, path, query: url.searchParams, body });
        if (result !== undefined) return send(response, 200, result);
      }
      throw new HttpFailure(404, `Unknown path ${path}.`);
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
}

/** The environment that points the real `gcloud` at a fake: every API's endpoint, the token, a scratch config dir. */
export function gcloudEnv(fake: FakeControlPlane, scratchDir: string, tokenFile: string): NodeJS.ProcessEnv {
  return {
    CLOUDSDK_CONFIG: scratchDir,
    ...endpointOverrides(fake),
    CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: tokenFile,
    CLOUDSDK_CORE_DISABLE_PROMPTS: "1",
    CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: "1",
    CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: "1",
  };
}

/** `CLOUDSDK_API_ENDPOINT_OVERRIDES_<API>` for every API Firebrick calls, all pointing at the fake. */
export function endpointOverrides(fake: FakeControlPlane): Record<string, string> {
  return Object.fromEntries(
    GCP_APIS.map((api) => [`CLOUDSDK_API_ENDPOINT_OVERRIDES_${api.toUpperCase()}`, fake.url]),
  );
}

/** The REST control plane pointed at the fake for every API, with its token. */
export function restControlPlaneOn(
  fake: FakeControlPlane,
  projectId: string,
  options: Omit<RestControlPlaneOptions, "projectId" | "endpoints" | "accessToken"> = {},
) {
  return createRestControlPlane({
    projectId,
    endpoints: Object.fromEntries(GCP_APIS.map((api) => [api, fake.url])),
    accessToken: async () => fake.token,
    ...options,
  });
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json; charset=UTF-8" });
  response.end(JSON.stringify(body));
}
