import { classifyFirestoreFailure } from "@firebrick/lock/firestore";
import type { DocumentReference, Firestore, Transaction } from "@google-cloud/firestore";
import { type Clock, StoreConflictError, StoreUnavailableError } from "../types.js";
import { ignoreUsage, type StoreArea, type UsageRecorder } from "../usage.js";

/** Collection names, overridable so that several deployments (or tests) can share one database. */
export interface FirestoreCollections {
  tenants: string;
  users: string;
  usernames: string;
  sessions: string;
  devices: string;
  telemetry: string;
  /** Trend rollups (docs/design/trends.md): device-days of five-minute slots, months of local days, intents. */
  rollups: string;
  rollup_months: string;
  rollup_intents: string;
  audit_log: string;
}

export const DEFAULT_COLLECTIONS: FirestoreCollections = {
  tenants: "tenants",
  users: "users",
  usernames: "usernames",
  sessions: "sessions",
  devices: "devices",
  telemetry: "telemetry",
  rollups: "telemetry_rollups",
  rollup_months: "telemetry_rollup_months",
  rollup_intents: "telemetry_rollup_intents",
  audit_log: "audit_log",
};

/** What the telemetry store's group commits report (stores/firestore/group-commit.ts), for metrics. */
export interface CommitObserver {
  /** Each commit that succeeded, with its number of documents. */
  committed(documents: number): void;
  /** Called once with a reader of the number of documents waiting for a commit. */
  queue(depth: () => number): void;
}

export interface FirestoreContext {
  db: Firestore;
  clock: Clock;
  usage: UsageRecorder;
  collections: FirestoreCollections;
  commits?: CommitObserver | undefined;
  /** The telemetry store's `WRITE_TIME_MARGIN_MS`, shortened by tests that must not wait for it. */
  writeTimeMarginMs?: number | undefined;
}

/** A context on `db`: the default collections, the wall clock and no usage recording unless `options` say. */
export function firestoreContext(
  db: Firestore,
  options: {
    clock?: Clock | undefined;
    usage?: UsageRecorder | undefined;
    collections?: Partial<FirestoreCollections> | undefined;
    commits?: CommitObserver | undefined;
    writeTimeMarginMs?: number | undefined;
  } = {},
): FirestoreContext {
  return {
    db,
    clock: options.clock ?? Date.now,
    usage: options.usage ?? ignoreUsage,
    collections: { ...DEFAULT_COLLECTIONS, ...options.collections },
    commits: options.commits,
    writeTimeMarginMs: options.writeTimeMarginMs,
  };
}

export function recordFirestore(
  context: FirestoreContext,
  area: StoreArea,
  reads: number,
  writes: number,
): void {
  context.usage.record("firestore", area, reads, writes);
}

/**
 * Translates a Firestore failure in the one vocabulary for Firestore failures (`classifyFirestoreFailure`,
 * by gRPC status, never by message text): whatever is worth a retry (the SDK has already retried; what
 * reaches us is an outage, overload or contention) becomes `StoreUnavailableError`, ALREADY_EXISTS a
 * `StoreConflictError` saying `conflict`; others pass.
 */
export function translateFirestoreError(error: unknown, conflict = "already exists"): unknown {
  const { status, retry } = classifyFirestoreFailure(error);
  if (retry !== "never") return new StoreUnavailableError("Firestore is unavailable", { cause: error });
  if (status === "ALREADY_EXISTS") return new StoreConflictError(conflict, { cause: error });
  return error;
}

/** Runs a Firestore call, translating its failures (see `translateFirestoreError`). */
export async function withFirestore<T>(work: () => Promise<T>, conflict?: string): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw translateFirestoreError(error, conflict);
  }
}

/** Counts what a transaction bills: the reads of every attempt, the writes of the one that commits. */
export interface TransactionBill {
  read(documents?: number): void;
  write(documents?: number): void;
}

export async function runBilledTransaction<T>(
  context: FirestoreContext,
  area: StoreArea,
  work: (transaction: Transaction, bill: TransactionBill) => Promise<T>,
): Promise<T> {
  let reads = 0;
  let writes = 0;
  let committed = false;
  try {
    const result = await withFirestore(() =>
      context.db.runTransaction(async (transaction) => {
        writes = 0;
        return work(transaction, {
          read: (documents = 1) => {
            reads += documents;
          },
          write: (documents = 1) => {
            writes += documents;
          },
        });
      }),
    );
    committed = true;
    return result;
  } finally {
    recordFirestore(context, area, reads, committed ? writes : 0);
  }
}

/**
 * Deletes one document by id if it belongs to `tenant`, in a transaction (1 read, and 1 write when it
 * deletes): a row of another tenant is left alone and reported as not deleted.
 */
export function deleteOwnedDocument(
  context: FirestoreContext,
  area: StoreArea,
  reference: DocumentReference,
  tenant: string,
): Promise<boolean> {
  return runBilledTransaction(context, area, async (transaction, bill) => {
    const snapshot = await transaction.get(reference);
    bill.read();
    if (snapshot.get("tenant_id") !== tenant) return false;
    transaction.delete(reference);
    bill.write();
    return true;
  });
}
