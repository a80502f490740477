import type { Timestamp } from "@google-cloud/firestore";
import { LockError } from "../common/errors.js";
import type { FirestoreContext } from "./config.js";

/**
 * One operation's view of time (ADR-010 and ADR-017, docs/adr/ADR-010-authoritative-expiry.md and
 * docs/adr/ADR-017-firestore-server-time.md).
 *
 * The decision instant, at which liveness is judged and from which a new expiry is computed, is taken from
 * the snapshot the decision rests on:
 * - server time: that snapshot's read time, Firestore's own clock, so that every client judges a lock by
 *   the same clock whatever its own says;
 * - client time: this client's clock, read once the snapshot has arrived.
 *
 * Times handed back to the caller (`expiresAtMs`, `acquiredAtMs`) are on the caller's clock. With server
 * time a stored time `t` becomes `t - readTime + start`, where `start` is the caller's clock when the
 * operation began: the read happened after `start`, so the caller's clock reaches that value no later than
 * Firestore reaches `t`, and `expiresAtMs - Date.now()` never overstates the time left, however far the
 * caller's clock is off.
 */
export class OperationTime {
  private readonly startedAt: number;
  private decidedAt: number | undefined;

  constructor(private readonly ctx: FirestoreContext) {
    this.startedAt = ctx.now();
  }

  /** Fixes the decision instant from the snapshot it rests on, and returns it (on the authority's clock). */
  decide(readTime: Timestamp | undefined): number {
    if (this.ctx.timeAuthority === "client") {
      this.decidedAt = this.ctx.now();
    } else {
      if (!readTime) throw new LockError("Internal", "Firestore returned a snapshot without a read time");
      this.decidedAt = this.ctx.serverClock(readTime.toMillis());
    }
    return this.decidedAt;
  }

  /** The decision instant fixed by `decide()`. */
  get decidedAtMs(): number {
    if (this.decidedAt === undefined) throw new LockError("Internal", "No decision instant yet");
    return this.decidedAt;
  }

  /** A stored time (on the authority's clock) on the caller's clock. */
  forCaller(storedMs: number): number {
    if (this.ctx.timeAuthority === "client") return storedMs;
    return storedMs - this.decidedAtMs + this.startedAt;
  }
}
