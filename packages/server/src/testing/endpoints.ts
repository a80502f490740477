import { randomUUID } from "node:crypto";
import { raiseAlarm, scratchRule } from "../alarms/testing/scratch.js";
import type { Role } from "../stores/types.js";
import { PASSWORD, type TestService } from "./service.js";

/** Every /api endpoint, with what a valid call looks like and who may make it (docs/design/api.md). */
export interface Endpoint {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  /** What `:id` names. */
  target?: Target;
  /** Roles allowed; "public" needs no session. */
  roles: readonly Role[] | "public";
  /** Accepts the device's bearer token. */
  device?: boolean;
  body?: (service: TestService) => Promise<unknown> | unknown;
  query?: string;
}

const ALL: readonly Role[] = ["admin", "operator", "viewer"];

/** What an endpoint's `:id` can name. */
export type Target = "device" | "user" | "alarm_rule" | "alarm" | "webhook";

export const ENDPOINTS: Endpoint[] = [
  {
    method: "POST",
    path: "/api/auth/login",
    roles: "public",
    body: () => ({ username: "viewer", password: PASSWORD }),
  },
  { method: "POST", path: "/api/auth/logout", roles: ALL },
  { method: "GET", path: "/api/auth/me", roles: ALL },
  { method: "GET", path: "/api/auth/sessions", roles: ALL },
  { method: "DELETE", path: "/api/auth/sessions", roles: ALL },
  { method: "DELETE", path: "/api/auth/sessions/:session_id", roles: ALL },
  {
    method: "POST",
    path: "/api/auth/password",
    roles: ALL,
    body: () => ({ current_password: PASSWORD, new_password: PASSWORD }),
  },
  { method: "GET", path: "/api/users", roles: ["admin"], query: "limit=5" },
  {
    method: "POST",
    path: "/api/users",
    roles: ["admin"],
    body: () => ({ username: `u-${randomUUID().slice(0, 8)}`, password: PASSWORD, role: "viewer" }),
  },
  {
    method: "PATCH",
    path: "/api/users/:id",
    target: "user",
    roles: ["admin"],
    body: () => ({ role: "operator" }),
  },
  { method: "DELETE", path: "/api/users/:id", target: "user", roles: ["admin"] },
  { method: "GET", path: "/api/users/:id/sessions", target: "user", roles: ["admin"] },
  { method: "DELETE", path: "/api/users/:id/sessions/:session_id", target: "user", roles: ["admin"] },
  { method: "DELETE", path: "/api/users/:id/sessions", target: "user", roles: ["admin"] },
  { method: "GET", path: "/api/devices", roles: ALL, query: "limit=5" },
  { method: "POST", path: "/api/devices", roles: ["admin"], body: () => ({ name: "VAV-2" }) },
  { method: "GET", path: "/api/devices/:id", target: "device", roles: ALL },
  {
    method: "PATCH",
    path: "/api/devices/:id",
    target: "device",
    roles: ["admin"],
    body: () => ({ location: { site: "HQ", floor: "L2" } }),
  },
  {
    method: "PUT",
    path: "/api/devices/:id/points/:metric",
    target: "device",
    roles: ["admin"],
    body: () => ({ name: "Zone temperature", unit: "°C", kind: "number", min: 10, max: 35 }),
  },
  { method: "DELETE", path: "/api/devices/:id/points/:metric", target: "device", roles: ["admin"] },
  { method: "DELETE", path: "/api/devices/:id", target: "device", roles: ["admin"] },
  { method: "POST", path: "/api/devices/:id/token", target: "device", roles: ["admin"] },
  {
    method: "POST",
    path: "/api/devices/:id/telemetry",
    target: "device",
    roles: ["admin", "operator"],
    device: true,
    body: (service) => ({ points: [{ timestamp_ms: service.clock.now, metrics: { zone_temp_c: 21 } }] }),
  },
  { method: "GET", path: "/api/devices/:id/telemetry", target: "device", roles: ALL, query: "limit=10" },
  { method: "GET", path: "/api/audit", roles: ["admin"], query: "limit=5" },
  { method: "GET", path: "/api/alarm-rules", roles: ALL, query: "limit=5" },
  {
    method: "POST",
    path: "/api/alarm-rules",
    roles: ["admin"],
    body: (service) => ({
      device_id: service.t1.device.id,
      kind: "offline",
      for_ms: 600_000,
      severity: "minor",
    }),
  },
  { method: "DELETE", path: "/api/alarm-rules/:id", target: "alarm_rule", roles: ["admin"] },
  { method: "GET", path: "/api/alarms", roles: ALL, query: "state=active&limit=5" },
  { method: "GET", path: "/api/alarms/count", roles: ALL, query: "state=active" },
  { method: "POST", path: "/api/alarms/:id/ack", target: "alarm", roles: ["admin", "operator"] },
  { method: "GET", path: "/api/webhooks", roles: ["admin"] },
  {
    method: "POST",
    path: "/api/webhooks",
    roles: ["admin"],
    body: () => ({ url: "https://hooks.example.com/firebrick", severities: ["critical"] }),
  },
  { method: "DELETE", path: "/api/webhooks/:id", target: "webhook", roles: ["admin"] },
  { method: "POST", path: "/api/webhooks/:id/secret", target: "webhook", roles: ["admin"] },
  {
    method: "GET",
    path: "/api/webhooks/:id/deliveries",
    target: "webhook",
    roles: ["admin"],
    query: "limit=5",
  },
  { method: "GET", path: "/api/admin/flags", roles: ["admin"] },
  {
    method: "PUT",
    path: "/api/admin/flags",
    // Nobody: the routing flags are the platform operator's (firebrick flags set), never a tenant's.
    roles: [],
    body: (service) => ({ telemetry: !service.flags.current().telemetry }),
  },
];

export function label(endpoint: Endpoint): string {
  return `${endpoint.method} ${endpoint.path}`;
}

/** The metric a `:metric` in a path names. */
export const ENDPOINT_METRIC = "zone_temp_c";
/** The session a `:session_id` in a path names: well formed, nobody's (ending it is a no-op). */
export const ENDPOINT_SESSION = "0".repeat(16);

/** The endpoint's path with its `:metric` and `:session_id` filled in (`:id` is the caller's). */
export function namedPath(endpoint: Endpoint): string {
  return endpoint.path.replace(":metric", ENDPOINT_METRIC).replace(":session_id", ENDPOINT_SESSION);
}

export function url(endpoint: Endpoint, id?: string): string {
  const named = namedPath(endpoint);
  const path = id === undefined ? named : named.replace(":id", id);
  return endpoint.query ? `${path}?${endpoint.query}` : path;
}

/** A fresh resource of the kind `:id` names, in the tenant, so that destructive calls do not eat the fixtures. */
export async function freshTarget(service: TestService, tenant: string, kind: Target): Promise<string> {
  const { stores } = service.router;
  const device = () => stores.devices.create(tenant, { name: "scratch", token_hash: "0".repeat(64) });
  if (kind === "device") return (await device()).id;
  if (kind === "webhook") {
    const scratch = () =>
      service.webhooks.create(
        tenant,
        { url: "https://hooks.example.com/scratch", description: null, severities: null },
        "scratch-secret",
        null,
      );
    // A tenant holds a bounded number of webhooks (sweeps create many): the oldest makes room.
    let webhook = await scratch();
    if (!webhook) {
      const [oldest] = await service.webhooks.list(tenant);
      if (oldest) await service.webhooks.delete(tenant, oldest.id);
      webhook = await scratch();
    }
    if (!webhook) throw new Error("the scratch webhook was refused");
    return webhook.id;
  }
  if (kind === "alarm_rule" || kind === "alarm") {
    const rule = await service.alarms.createRule(tenant, scratchRule((await device()).id), null);
    if (kind === "alarm_rule") return rule.id;
    return (await raiseAlarm(service.alarms, tenant, rule, service.clock.now)).id;
  }
  const stored = await service.ctx.passwords.hash(PASSWORD);
  return (
    await stores.users.create(tenant, {
      username: `scratch-${randomUUID().slice(0, 8)}`,
      role: "viewer",
      ...stored,
    })
  ).id;
}
