/**
 * The fences of the alarm jobs that run under a service lock (the offline sweep, the webhook dispatcher):
 * the newest fencing token each has recorded, one row (`alarm_fences`) or document per job. A holder
 * records its token before it writes; anything written with an older token is refused from then on
 * (`isStale`, judge.ts). The Firestore side is `firestore-fences.ts`, apart so that SQLite never loads the SDK.
 */
import type { SqliteDatabase } from "../storage/sqlite.js";

/**
 * One job's fence in the SQLite file: `current()` inside the caller's transaction; `record(fence)` in its
 * own `BEGIN IMMEDIATE`, false when a newer fence is recorded (nothing written); `record` bills its read
 * and write through `bill`, `current` is the caller's to count.
 */
export function sqliteFence(
  db: SqliteDatabase,
  scope: string,
  bill: (reads: number, writes: number) => void,
) {
  const select = db.prepare<[string], { fence: string }>("SELECT fence FROM alarm_fences WHERE scope = ?");
  const raise = db.prepare(
    "INSERT INTO alarm_fences (scope, fence) VALUES (?, ?) ON CONFLICT(scope) DO UPDATE SET fence = excluded.fence WHERE excluded.fence > fence",
  );
  const record = db.transaction((fence: string) => {
    raise.run(scope, fence);
    bill(1, 1);
    return select.get(scope)?.fence === fence;
  });
  return {
    current: (): string | undefined => select.get(scope)?.fence,
    record: (fence: string): boolean => record.immediate(fence),
  };
}
