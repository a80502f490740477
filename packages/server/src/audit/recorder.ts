import type { FastifyRequest } from "fastify";
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
}

/**
 * Appends an audit entry for a request: who (user), from where (IP, user agent), what, and the outcome.
 * An audit store outage is logged and does not turn a refusal into a 500: the refusal still stands.
 */
export async function recordAudit(
  audit: AuditLogStore,
  clock: Clock,
  request: FastifyRequest,
  event: AuditEvent,
): Promise<void> {
  const tenant = event.tenant ?? request.tenant;
  const principal = request.principal;
  const userId =
    event.userId !== undefined ? event.userId : principal?.kind === "session" ? principal.user.id : null;
  const details = { ...event.details };
  if (principal?.kind === "device") details.device_id = principal.device.id;
  try {
    await audit.append(tenant, {
      action: event.action,
      outcome: event.outcome,
      user_id: userId,
      timestamp_ms: clock(),
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
