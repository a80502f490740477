import { randomBytes } from "node:crypto";
import {
  type BackupSchedule,
  type Database,
  DEFAULT_DATABASE,
  FIRESTORE_SERVICE,
  type Field,
  type IamPolicy,
  type Index,
  type Operation,
  type ServiceAccount,
  statusForHttp,
} from "../control-plane.js";

/** The state one fake project holds, and the primitives the fake's API handlers share. */

export class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason = statusForHttp(status),
  ) {
    super(message);
  }
}

export interface FakeDatabase {
  resource: Database;
  indexes: Map<string, Index & { collectionGroup: string }>;
  fields: Map<string, Field>;
  backupSchedules: Map<string, BackupSchedule>;
}

export interface FakeSecret {
  name: string;
  createTime: string;
  replication: Record<string, unknown>;
  versions: {
    name: string;
    state: "ENABLED" | "DISABLED" | "DESTROYED";
    createTime: string;
    data: string;
    /** The CRC32C the client sent with the payload, if any (returned on access, as the API does). */
    checksum?: string;
  }[];
  policy: IamPolicy;
}

export class FakeProject {
  readonly services = new Set<string>();
  readonly databases = new Map<string, FakeDatabase>();
  readonly serviceAccounts = new Map<string, ServiceAccount>();
  policy: IamPolicy = { version: 1, etag: etag(), bindings: [] };
  readonly secrets = new Map<string, FakeSecret>();
  /** Permissions the caller lacks on this project (testIamPermissions leaves them out); all others it holds. */
  readonly deniedPermissions = new Set<string>();
  /**
   * Fresh service accounts IAM does not know yet, with how many more policy writes naming them are
   * refused ("does not exist"), as IAM's eventual consistency does for a few seconds after a creation.
   */
  readonly unpropagatedAccounts = new Map<string, number>();

  constructor(
    readonly projectId: string,
    readonly projectNumber: string,
  ) {}

  get firestoreEnabled(): boolean {
    return this.services.has(FIRESTORE_SERVICE);
  }

  set firestoreEnabled(enabled: boolean) {
    if (enabled) this.services.add(FIRESTORE_SERVICE);
    else this.services.delete(FIRESTORE_SERVICE);
  }

  /** The `(default)` database, or `null`. */
  get database(): Database | null {
    return this.databases.get(DEFAULT_DATABASE)?.resource ?? null;
  }

  /** The named database's resource, or `null`. */
  databaseResource(databaseId: string): Database | null {
    return this.databases.get(databaseId)?.resource ?? null;
  }

  addDatabase(databaseId: string, resource: Database): FakeDatabase {
    const database: FakeDatabase = {
      resource,
      indexes: new Map(),
      fields: new Map(),
      backupSchedules: new Map(),
    };
    this.databases.set(databaseId, database);
    return database;
  }
}

/** A pending long-running operation: done after `pollsLeft` reads, then `complete()` gives its response. */
export interface PendingOperation {
  operation: Operation;
  pollsLeft: number;
  complete: () => Record<string, unknown>;
}

/** What every API handler of the fake may use. */
export interface FakeContext {
  project(projectId: string): FakeProject;
  startOperation(
    name: string,
    polls: number,
    metadata: Record<string, unknown>,
    complete: () => Record<string, unknown>,
  ): Operation;
  pollOperation(name: string): Operation;
  /** Polls a database creation needs (`Infinity`: never done). */
  readonly createDatabasePolls: number;
  /** Policy writes that still refuse a service account just created. */
  readonly serviceAccountPropagation: number;
}

/** One API's routes: the result to send, or `undefined` when the request is not this API's. */
export type FakeApi = (
  context: FakeContext,
  request: { method: string; path: string; query: URLSearchParams; body: unknown },
) => unknown;

/** The groups of `pattern` on `subject`, or `null`. */
export function route(subject: string, method: string, expected: string, pattern: RegExp): string[] | null {
  if (method !== expected) return null;
  const match = subject.match(pattern);
  return match ? match.slice(1) : null;
}

export function id(): string {
  return randomBytes(9).toString("base64url");
}

/** An etag as IAM sends it: base64 bytes (gcloud decodes it, padding included). */
export function etag(): string {
  return randomBytes(8).toString("base64");
}

export function now(): string {
  return new Date().toISOString();
}
