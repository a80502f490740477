import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";
import type { Principal } from "../auth/principal.js";
import type { FleetLimiter, LimitPolicy } from "../fleet/limiter.js";
import type { AuditEntry, AuditLogStore, Clock } from "../stores/types.js";

export interface AuditEvent {
  action: string;
  outcome: AuditEntry["outcome"];
  target?: string | null;
  details?: Record<string, unknown>;
  /** Defaults to the signed-in user, if any. */
  userId?: string | null;
  /** Defaults to the request's tenant. */
  tenant?: string;
  /**
   * Caused by a request without a valid credential (a rejected session, a device id under another
   * tenant's header with any token): such entries are budgeted per client address, so that junk
   * credentials cannot flood the audit log.
   */
  unauthenticated?: boolean;
}

declare module "fastify" {
  interface FastifyRequest {
    /**
     * Appends an audit entry for this request: who (user, device), from where (IP, user agent), what,
     * and the outcome. An audit store outage is logged and does not turn a refusal into a 500: the
     * refusal still stands.
     */
    audit(event: AuditEvent): Promise<void>;
  }
}

export interface AuditRecorderOptions {
  /** Resolved per call, so that entries follow the audit area when its flag moves it. */
  audit: () => AuditLogStore;
  clock: Clock;
  /** Whether a tenant exists: nothing is written under one that does not (any header names one). */
  tenantExists: (tenant: string) => Promise<boolean>;
  /** The fleet's limits (`fleet/limiter.ts`): the unauthenticated entries' budget holds for every instance. */
  limits: Pick<FleetLimiter, "charge">;
}

/** Unauthenticated entries per client address and minute (`AuditEvent.unauthenticated`). */
export const UNAUTHENTICATED_AUDITS_PER_MINUTE = 10;

const UNAUTHENTICATED_AUDITS: LimitPolicy = {
  name: "unauthenticated_audits",
  capacity: UNAUTHENTICATED_AUDITS_PER_MINUTE,
  windowMs: 60_000,
};

/**
 * Gives every request `request.audit(event)`. Registered before the request gate, which audits refusals.
 *
 * @example
 * await app.register(auditRecorder, { audit: () => router.stores.audit, clock, tenantExists, limits });
 * await request.audit({ action: "device.create", outcome: "success", target: `device:${id}` });
 */
export const auditRecorder = fp(
  async (app: FastifyInstance, options: AuditRecorderOptions) => {
    /**
     * Whether this unauthenticated entry is within its address's budget (and spends from it). Should the
     * limiter's store fail, the entry is written: an outage loses no audit entry.
     */
    const withinBudget = async (request: FastifyRequest) => {
      const charged = await options.limits
        .charge(UNAUTHENTICATED_AUDITS, request.ip ?? "", 1)
        .catch((error: unknown) => {
          request.log.warn({ err: error }, "audit budget unavailable; the entry is written");
          return { ok: true as const };
        });
      return charged.ok;
    };
    app.decorateRequest("audit", async function (this: FastifyRequest, event: AuditEvent) {
      if (event.unauthenticated && !(await withinBudget(this))) return;
      await record(options, this, event);
    });
  },
  { name: "firebrick-audit", fastify: "5.x" },
);

async function record(options: AuditRecorderOptions, request: FastifyRequest, event: AuditEvent) {
  const tenant = event.tenant ?? request.tenant;
  const principal: Principal | null = request.principal;
  const userId =
    event.userId !== undefined ? event.userId : principal?.kind === "session" ? principal.user.id : null;
  const details = { ...event.details };
  if (principal?.kind === "device") details.device_id = principal.device.id;
  try {
    // Any header names a tenant: an entry under one that does not exist would be written for nobody
    // (and billed). Should the check itself fail, the entry is written: an outage loses no audit entry.
    const exists = await options.tenantExists(tenant).catch(() => true);
    if (!exists) {
      request.log.debug({ action: event.action, tenant_id: tenant }, "audit entry dropped: no such tenant");
      return;
    }
    await options.audit().append(tenant, {
      action: event.action,
      outcome: event.outcome,
      user_id: userId,
      timestamp_ms: options.clock(),
      target: event.target ?? null,
      ip: request.ip ?? null,
      user_agent: headerText(request.headers["user-agent"]),
      details: { ...details, request_id: request.id },
    });
  } catch (error) {
    request.log.error({ err: error, action: event.action, tenant_id: tenant }, "audit append failed");
  }
}

function headerText(value: string | string[] | undefined): string | null {
  const text = Array.isArray(value) ? value[0] : value;
  return text ? text.slice(0, 256) : null;
}
