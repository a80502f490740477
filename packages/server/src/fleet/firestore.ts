import { grpcStatusOf } from "@firebrick/lock/firestore";
import {
  type DocumentData,
  FieldPath,
  FieldValue,
  type Firestore,
  type QuerySnapshot,
  Timestamp,
} from "@google-cloud/firestore";
import { queryReads } from "../stores/billing.js";
import { decodeCursor } from "../stores/cursor.js";
import { translateFirestoreError, withFirestore } from "../stores/firestore/context.js";
import { assertLimit } from "../stores/keys.js";
import { FLAG_NAMES, type Flags } from "../stores/routing/flags.js";
import type { Clock } from "../stores/types.js";
import { ignoreUsage, type UsageRecorder } from "../stores/usage.js";
import {
  completePlatformAuditEntry,
  PLATFORM_AUDIT_RETENTION_MS,
  platformAuditPage,
} from "./platform-audit-entry.js";
import type { FleetState, FleetWatchListener, PlatformAuditEntry, SavedFlags } from "./types.js";

/** The collections of the service-wide state (declared in `stores/firestore/indexes.ts` with their TTLs). */
export const FLEET_COLLECTIONS = {
  /** One document, `flags`: the routing flags. */
  state: "fleet_state",
  records: "fleet_records",
  platformAudit: "platform_audit",
  changes: "fleet_changes",
} as const;

/** A published change is kept an hour (then TTL deletes it): watchers hear of it within seconds. */
const CHANGE_KEPT_MS = 60 * 60_000;
/**
 * A watch asks for the changes published since it started, less this margin: the feed is ordered by
 * Firestore's commit clock, the cutoff by this instance's, and a change just before the start is
 * better heard twice than missed.
 */
const CLOCK_MARGIN_MS = 60_000;
/** The change feed's query is started afresh this often, so that its result set stays small. */
const CHANGES_RESUBSCRIBE_MS = 10 * 60_000;

export interface FirestoreFleetOptions {
  clock?: Clock;
  usage?: UsageRecorder;
  /** The first delay before a failed watch is started again (doubling, at most 30 s). */
  retryMs?: number;
}

/**
 * The service-wide state in Firestore (docs/design/fleet.md), for every instance on one project: the
 * flags document, watched by a snapshot listener (one read per change, not per poll); the limiters'
 * records, written by compare-and-set on their update time (`lastUpdateTime` precondition); the platform
 * audit log; and the change feed, watched by a listener on a query of the changes published since the
 * watch started, so that starting it costs a read per recent change, not one per device.
 *
 * @example
 * const fleet = createFirestoreFleetState(db, { clock, usage });
 */
export function createFirestoreFleetState(db: Firestore, options: FirestoreFleetOptions = {}): FleetState {
  const clock = options.clock ?? Date.now;
  const usage = options.usage ?? ignoreUsage;
  const record = (reads: number, writes: number, area: "flags" | "fleet" = "fleet") =>
    usage.record("firestore", area, reads, writes);
  const flagsDoc = db.collection(FLEET_COLLECTIONS.state).doc("flags");
  const records = db.collection(FLEET_COLLECTIONS.records);
  const audit = db.collection(FLEET_COLLECTIONS.platformAudit);
  const changes = db.collection(FLEET_COLLECTIONS.changes);

  const flagsData = (flags: Flags, by: string, at: number) => ({
    ...Object.fromEntries(FLAG_NAMES.map((name) => [name, flags[name]])),
    changed_by: by,
    updated_at: at,
  });

  return {
    backend: "firestore",
    location: `Firestore collections ${Object.values(FLEET_COLLECTIONS).join(", ")}`,
    flags: {
      async load() {
        const snapshot = await withFirestore(() => flagsDoc.get());
        record(1, 0, "flags");
        return snapshot.exists ? parseFlags(snapshot.data()!) : null;
      },
      async initialize(initial, by, at) {
        try {
          await flagsDoc.create(flagsData(initial, by, at));
          record(0, 1, "flags");
          return { flags: { ...initial }, by, updatedAt: at, created: true };
        } catch (error) {
          // Saved already (by another instance, maybe a moment ago): adopt what is saved.
          if (grpcStatusOf(error) !== "ALREADY_EXISTS") throw translateFirestoreError(error);
        }
        const snapshot = await withFirestore(() => flagsDoc.get());
        record(1, 0, "flags");
        return { ...parseFlags(snapshot.data() ?? {}), created: false };
      },
      async update(defaults, change, by, at) {
        let reads = 0;
        const result = await withFirestore(() =>
          db.runTransaction(async (transaction) => {
            const snapshot = await transaction.get(flagsDoc);
            reads += 1;
            const before: Flags = {
              ...defaults,
              ...(snapshot.exists ? parseFlags(snapshot.data()!).flags : {}),
            };
            const after = change({ ...before });
            transaction.set(flagsDoc, flagsData(after, by, at));
            return { before, after };
          }),
        );
        record(reads, 1, "flags");
        return result;
      },
    },
    records: {
      async read(id) {
        const snapshot = await withFirestore(() => records.doc(id).get());
        record(1, 0);
        if (!snapshot.exists) return null;
        return {
          value: (snapshot.get("value") ?? {}) as Record<string, unknown>,
          version: versionOf(snapshot.updateTime!),
        };
      },
      async write(id, kind, value, expected, expireAt) {
        const data = { kind, value, expire_at: Timestamp.fromMillis(expireAt) };
        try {
          const result = await (expected === null
            ? records.doc(id).create(data)
            : records.doc(id).update(data, { lastUpdateTime: timestampOf(expected) }));
          record(0, 1);
          return versionOf(result.writeTime);
        } catch (error) {
          // Another writer came first: it created the record, changed it, or (TTL) deleted it.
          const status = grpcStatusOf(error);
          if (status === "ALREADY_EXISTS" || status === "FAILED_PRECONDITION" || status === "NOT_FOUND") {
            return null;
          }
          throw translateFirestoreError(error);
        }
      },
      async delete(id) {
        await withFirestore(() => records.doc(id).delete());
        record(0, 1);
      },
    },
    platformAudit: {
      async append(entry) {
        const stored = completePlatformAuditEntry(entry);
        await withFirestore(() =>
          audit.doc(stored.id).create({
            ...stored,
            expire_at: Timestamp.fromMillis(stored.timestamp_ms + PLATFORM_AUDIT_RETENTION_MS),
          }),
        );
        record(0, 1);
        return stored;
      },
      async list({ limit, cursor }) {
        assertLimit(limit, 1000);
        let query = audit
          .where("timestamp_ms", ">", clock() - PLATFORM_AUDIT_RETENTION_MS)
          .orderBy("timestamp_ms", "desc")
          .orderBy(FieldPath.documentId(), "desc");
        if (cursor) {
          const after = decodeCursor("platform_audit", cursor);
          query = query.startAfter(after.t, after.id);
        }
        const snapshot = await withFirestore(() => query.limit(limit).get());
        record(queryReads(snapshot.size), 0);
        return platformAuditPage(
          snapshot.docs.map((doc) => toAuditEntry(doc.data())),
          limit,
        );
      },
    },
    changes: {
      async publish(change) {
        await withFirestore(() =>
          changes.add({
            ...change,
            at: FieldValue.serverTimestamp(),
            expire_at: Timestamp.fromMillis(clock() + CHANGE_KEPT_MS),
          }),
        );
        record(0, 1);
      },
    },
    watch(listener) {
      return watchFirestore(
        {
          flags: (onNext, onError) =>
            flagsDoc.onSnapshot((snapshot) => {
              record(1, 0, "flags");
              if (snapshot.exists) listener.flags(parseFlags(snapshot.data()!));
              onNext();
            }, onError),
          changes: (onNext, onError) =>
            changes
              .where("at", ">", Timestamp.fromMillis(clock() - CLOCK_MARGIN_MS))
              .onSnapshot((snapshot: QuerySnapshot) => {
                const added = snapshot.docChanges().filter((change) => change.type === "added");
                record(queryReads(added.length), 0);
                for (const { doc } of added) {
                  listener.change({
                    kind: doc.get("kind") === "webhooks" ? "webhooks" : "device",
                    tenant_id: doc.get("tenant_id") as string,
                    subject: doc.get("subject") as string,
                  });
                }
                onNext();
              }, onError),
        },
        listener,
        { retryMs: options.retryMs ?? 1000, resubscribeMs: CHANGES_RESUBSCRIBE_MS },
      );
    },
  };
}

type Subscribe = (onNext: () => void, onError: (error: Error) => void) => () => void;

/**
 * Keeps the two listeners running: healthy once both have delivered a first snapshot; a failed one is
 * reported, the whole watch unhealthy, and it is started again after a growing delay. The change feed's
 * listener is also started afresh every `resubscribeMs`, so that its query covers only recent changes.
 */
function watchFirestore(
  subscriptions: Record<"flags" | "changes", Subscribe>,
  listener: FleetWatchListener,
  timing: { retryMs: number; resubscribeMs: number },
): { stop(): Promise<void> } {
  const names = Object.keys(subscriptions) as Array<keyof typeof subscriptions>;
  const live = new Map<string, { unsubscribe: () => void; current: boolean }>();
  const failures = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  let healthy = false;

  const report = () => {
    const now = names.every((name) => live.get(name)?.current === true);
    if (now !== healthy) {
      healthy = now;
      listener.health(now);
    }
  };
  const later = (ms: number, task: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!stopped) task();
    }, ms);
    timer.unref();
    timers.add(timer);
  };
  const start = (name: keyof typeof subscriptions) => {
    const state = { unsubscribe: () => {}, current: false };
    live.set(name, state);
    state.unsubscribe = subscriptions[name](
      () => {
        if (live.get(name) !== state) return;
        failures.set(name, 0);
        if (!state.current) {
          state.current = true;
          report();
        }
      },
      (error) => {
        if (live.get(name) !== state) return;
        listener.error(error);
        live.delete(name);
        report();
        const failed = (failures.get(name) ?? 0) + 1;
        failures.set(name, failed);
        later(Math.min(30_000, timing.retryMs * 2 ** (failed - 1)), () => start(name));
      },
    );
  };
  for (const name of names) start(name);
  const resubscribe = setInterval(() => {
    const old = live.get("changes");
    if (!old?.current) return;
    // The new listener's first snapshot repeats the last minute's changes: nothing falls in between.
    start("changes");
    old.unsubscribe();
  }, timing.resubscribeMs);
  resubscribe.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(resubscribe);
      for (const timer of timers) clearTimeout(timer);
      for (const { unsubscribe } of live.values()) unsubscribe();
      live.clear();
    },
  };
}

function parseFlags(data: DocumentData): SavedFlags {
  const flags: SavedFlags["flags"] = {};
  for (const name of FLAG_NAMES) if (typeof data[name] === "boolean") flags[name] = data[name];
  return {
    flags,
    by: typeof data.changed_by === "string" ? data.changed_by : null,
    updatedAt: typeof data.updated_at === "number" ? data.updated_at : 0,
  };
}

/** A document's update time as a record version, exact to the nanosecond (the precondition compares it). */
function versionOf(time: Timestamp): string {
  return `${time.seconds}.${String(time.nanoseconds).padStart(9, "0")}`;
}

function timestampOf(version: string): Timestamp {
  const [seconds, nanoseconds] = version.split(".");
  return new Timestamp(Number(seconds), Number(nanoseconds));
}

function toAuditEntry(data: DocumentData): PlatformAuditEntry {
  return {
    id: data.id as string,
    action: data.action as string,
    actor: data.actor as string,
    timestamp_ms: data.timestamp_ms as number,
    outcome: data.outcome as PlatformAuditEntry["outcome"],
    target: (data.target ?? null) as string | null,
    details: (data.details ?? {}) as Record<string, unknown>,
  };
}
