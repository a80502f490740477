import { isMetricName, StoreConflictError, type Stores, TELEMETRY_RETENTION_MS } from "../stores/types.js";
import type { WriteBudget } from "./budget.js";
import type { JobSteps } from "./job.js";
import { ensureUuidV4 } from "./legacy-ids.js";
import { classifyPasswordHash } from "./password-formats.js";
import type { JobRetrier } from "./retry.js";
import { nextAfter, sortedDeviceIds, sortedTenantIds } from "./source.js";

const DAY_MS = 24 * 3600 * 1000;
// Marks a finished page sequence in a cursor; "~" never occurs in a store cursor (base64url).
const PAGE_END = "~end";

// ---------------------------------------------------------------------------------------------
// Users (with their tenants and devices, which the auth cutover moves with them)

type AccountsCursor = { tenant: string; phase: "tenant" | "users" | "devices" | "done"; page: string | null };
type AccountItem =
  | { kind: "tenant"; tenant: string; name: string }
  | { kind: "user"; tenant: string; user: Awaited<ReturnType<Stores["users"]["get"]>> & object }
  | { kind: "device"; tenant: string; device: Awaited<ReturnType<Stores["devices"]["get"]>> & object };

/** `firebrick migrate users`: tenants, users (UUIDv4 ids, legacy hashes flagged, unsalted refused), devices. */
export function migrateUsersJob(
  source: Stores,
  target: Stores,
  retrier: JobRetrier,
): JobSteps<AccountsCursor> {
  let tenants: string[] | undefined;
  const afterTenant = (tenant: string | null): AccountsCursor => {
    const next = nextAfter(tenants!, tenant);
    return next === undefined
      ? { tenant: tenant ?? "", phase: "done", page: null }
      : { tenant: next, phase: "tenant", page: null };
  };
  return {
    name: "migrate-users",
    units: { read: "records (tenants, users, devices)", written: "records" },
    async next(cursor) {
      tenants ??= await sortedTenantIds(source);
      let at = cursor ?? afterTenant(null);
      for (;;) {
        const tenant = at.tenant;
        switch (at.phase) {
          case "done":
            return null;
          case "tenant": {
            const record = await source.tenants.get(tenant);
            const item: AccountItem = { kind: "tenant", tenant, name: record?.name ?? tenant };
            return { items: [item], cursor: { tenant, phase: "users", page: null } };
          }
          case "users": {
            const page = await source.users.list(tenant, { limit: 200, cursor: at.page });
            const after: AccountsCursor = page.next_cursor
              ? { tenant, phase: "users", page: page.next_cursor }
              : { tenant, phase: "devices", page: null };
            if (page.items.length > 0)
              return { items: page.items.map((user) => ({ kind: "user", tenant, user })), cursor: after };
            at = after;
            break;
          }
          case "devices": {
            const page = await source.devices.list(tenant, { limit: 200, cursor: at.page });
            const after: AccountsCursor = page.next_cursor
              ? { tenant, phase: "devices", page: page.next_cursor }
              : afterTenant(tenant);
            if (page.items.length > 0) {
              return {
                items: page.items.map((device) => ({ kind: "device", tenant, device })),
                cursor: after,
              };
            }
            at = after;
            break;
          }
        }
      }
    },
    async apply(items, { dryRun }) {
      let written = 0;
      let skipped = 0;
      let refused = 0;
      const notes: string[] = [];
      for (const item of items as AccountItem[]) {
        if (item.kind === "tenant") {
          if (await target.tenants.get(item.tenant)) skipped++;
          else {
            if (!dryRun) await retrier.run(() => target.tenants.create({ id: item.tenant, name: item.name }));
            written++;
          }
        } else if (item.kind === "user") {
          const { user, tenant } = item;
          const format = classifyPasswordHash(user.password_hash);
          if (format === "unsalted" || format === "unknown") {
            refused++;
            notes.push(
              `refused user ${tenant}/${user.id}: ${format} password hash (a password reset is required)`,
            );
            continue;
          }
          const id = ensureUuidV4(tenant, "user", user.id);
          if (await target.users.get(tenant, id)) {
            skipped++;
            continue;
          }
          if (!dryRun) {
            try {
              await retrier.run(() =>
                target.users.create(tenant, {
                  id,
                  username: user.username,
                  role: user.role,
                  password_hash: user.password_hash,
                  algo_params: user.algo_params,
                  needs_rehash: format === "legacy" || user.needs_rehash,
                }),
              );
            } catch (error) {
              if (!(error instanceof StoreConflictError)) throw error;
              refused++;
              notes.push(
                `refused user ${tenant}/${user.id}: username already taken in the target by another user`,
              );
              continue;
            }
          }
          written++;
        } else {
          const { device, tenant } = item;
          if (await target.devices.get(tenant, device.id)) {
            skipped++;
            continue;
          }
          if (!dryRun) {
            await retrier.run(() =>
              target.devices.create(tenant, {
                id: device.id,
                name: device.name,
                token_hash: device.token_hash,
              }),
            );
            // Location and point definitions are edited after creation; last_seen_ms comes back with
            // the device's next write.
            const { location, points } = device;
            if (Object.values(location).some((tag) => tag !== null) || Object.keys(points).length > 0) {
              await retrier.run(() => target.devices.update(tenant, device.id, () => ({ location, points })));
            }
          }
          written++;
        }
      }
      return { written, skipped, refused, notes };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Audit backfill

type PagedCursor = { tenant: string; page: string | null };

/** `firebrick backfill audit --days N`: the last N days of every tenant's audit log, tagged sqlite_backfill. */
export function backfillAuditJob(
  source: Stores,
  target: Stores,
  options: { days: number; now: number; retrier: JobRetrier },
): JobSteps<PagedCursor> {
  const cutoff = options.now - options.days * DAY_MS;
  let tenants: string[] | undefined;
  return {
    name: `backfill-audit-${options.days}d`,
    units: { read: "audit entries", written: "audit entries" },
    async next(cursor) {
      tenants ??= await sortedTenantIds(source);
      let at: PagedCursor | null = cursor;
      for (;;) {
        if (at === null || at.page === PAGE_END) {
          const tenant = nextAfter(tenants, at?.tenant ?? null);
          if (tenant === undefined) return null;
          at = { tenant, page: null };
        }
        const page = await source.audit.query(at.tenant, { limit: 500, cursor: at.page });
        const fresh = page.items.filter((entry) => entry.timestamp_ms >= cutoff);
        const exhausted = !page.next_cursor || fresh.length < page.items.length;
        const after: PagedCursor = { tenant: at.tenant, page: exhausted ? PAGE_END : page.next_cursor };
        if (fresh.length > 0) return { items: fresh, cursor: after };
        at = after;
      }
    },
    async apply(items, { dryRun }) {
      if (!dryRun) {
        for (const entry of items as Awaited<ReturnType<Stores["audit"]["append"]>>[]) {
          // Same id on both sides: a re-run or a replayed chunk appends nothing twice.
          await options.retrier.run(() =>
            target.audit.append(entry.tenant_id, { ...entry, source: "sqlite_backfill" }),
          );
        }
      }
      return { written: items.length };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Telemetry backfill

type SeriesCursor = { tenant: string; device: string | null; page: string | null };
type SeriesChunk = {
  tenant: string;
  device: string;
  points: Awaited<ReturnType<Stores["telemetry"]["latest"]>>;
};

/**
 * `firebrick backfill telemetry --days N`: per device, batches of up to 500 points, each batch one write
 * against the device's write budget, with backoff on errors.
 */
export function backfillTelemetryJob(
  source: Stores,
  target: Stores,
  options: { days: number; now: number; retrier: JobRetrier; budget: WriteBudget },
): JobSteps<SeriesCursor> {
  const days = Math.min(options.days, TELEMETRY_RETENTION_MS / DAY_MS);
  const from = options.now - days * DAY_MS;
  let tenants: string[] | undefined;
  const devices = new Map<string, string[]>();
  const devicesOf = async (tenant: string) => {
    const known = devices.get(tenant);
    if (known) return known;
    const list = await sortedDeviceIds(source, tenant);
    devices.set(tenant, list);
    return list;
  };
  return {
    name: `backfill-telemetry-${options.days}d`,
    // A chunk is one page (up to 500 points) of one device's series.
    units: { read: "points", written: "points" },
    async next(cursor) {
      tenants ??= await sortedTenantIds(source);
      let at: SeriesCursor | null = cursor;
      for (;;) {
        if (at === null) {
          const tenant = tenants[0];
          if (tenant === undefined) return null;
          at = { tenant, device: null, page: null };
        }
        if (at.device === null || at.page === PAGE_END) {
          const device = nextAfter(await devicesOf(at.tenant), at.device);
          if (device === undefined) {
            const tenant = nextAfter(tenants, at.tenant);
            if (tenant === undefined) return null;
            at = { tenant, device: null, page: null };
            continue;
          }
          at = { tenant: at.tenant, device, page: null };
        }
        const page = await source.telemetry.window(at.tenant, at.device!, {
          from,
          to: options.now + 1,
          limit: 500,
          cursor: at.page,
        });
        const after: SeriesCursor = { ...at, page: page.next_cursor ?? PAGE_END };
        if (page.items.length > 0) {
          const chunk: SeriesChunk = { tenant: at.tenant, device: at.device!, points: page.items };
          // One chunk is one series' page: it is applied as one batched write, and reads as its points.
          return { items: [chunk], cursor: after, rows: page.items.length };
        }
        at = after;
      }
    },
    async apply(items, { dryRun }) {
      let written = 0;
      let refused = 0;
      const notes: string[] = [];
      for (const { tenant, device, points } of items as SeriesChunk[]) {
        // SQLite once kept metric names Firestore reserves (`__…__`): such points are listed, not copied.
        const copyable: typeof points = [];
        for (const point of points) {
          const invalid = Object.keys(point.metrics).filter((name) => !isMetricName(name));
          if (invalid.length === 0) {
            copyable.push(point);
            continue;
          }
          refused++;
          notes.push(
            `refused point ${tenant}/${device}@${point.timestamp_ms}: metric names ${invalid.join(", ")}`,
          );
        }
        if (!dryRun && copyable.length > 0) {
          await options.budget.take(`${tenant}/${device}`);
          await options.retrier.run(() =>
            target.telemetry.append(
              tenant,
              device,
              copyable.map((point) => ({
                timestamp_ms: point.timestamp_ms,
                metrics: point.metrics,
                source: "sqlite_backfill",
              })),
            ),
          );
        }
        written += copyable.length;
      }
      return { written, refused, notes };
    },
  };
}
