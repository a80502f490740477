// The dashboard's only door to the server: every /api call goes through `request`, which adds the tenant
// header (docs/design/tenancy.md: every /api request carries it, login included) and turns every failure into
// an ApiError with a stable code, so that the views can render 401/403/429/network failures consistently.

/** A failed API call. `status` is 0 when the server could not be reached at all. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {{ requestId?: string | null, retryAfterMs?: number | null }} [extra]
   */
  constructor(status, code, message, extra = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.requestId = extra.requestId ?? null;
    this.retryAfterMs = extra.retryAfterMs ?? null;
  }
}

/** @type {{ tenant_header: string, poll_interval_ms: number, chart_points: number }} */
let config = { tenant_header: "X-BAS-Tenant", poll_interval_ms: 5000, chart_points: 100 };
let tenant = "";

/** Loads the server's dashboard settings (tenant header name, poll interval). */
export async function loadConfig() {
  try {
    const response = await fetch("/dashboard/config.json", { cache: "no-store" });
    if (response.ok) config = { ...config, ...(await response.json()) };
  } catch {
    // Defaults are the documented ones; the first API call will report an unreachable server.
  }
  return config;
}

export function getConfig() {
  return config;
}

/** @param {string} value */
export function setTenant(value) {
  tenant = value;
}

export function getTenant() {
  return tenant;
}

/** Retry-After is seconds or an HTTP date; either way we want milliseconds from now. */
export function parseRetryAfter(value, now = Date.now()) {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/**
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function request(method, path, body) {
  const headers = { [config.tenant_header]: tenant, accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "NETWORK", "The server cannot be reached. Check your connection; retrying.");
  }
  const text = await response.text();
  let json = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }
  if (response.ok) return json ?? {};
  const error = json && typeof json === "object" && json.error ? json.error : {};
  throw new ApiError(
    response.status,
    typeof error.code === "string" ? error.code : `HTTP_${response.status}`,
    typeof error.message === "string" ? error.message : response.statusText || "Request failed.",
    {
      requestId: error.request_id ?? response.headers.get("x-request-id"),
      retryAfterMs: parseRetryAfter(response.headers.get("retry-after")),
    },
  );
}

// --- The endpoints the dashboard uses, with the API's own shapes (docs/design/api.md); extra fields are fine.

export const api = {
  login: (username, password) => request("POST", "/api/auth/login", { username, password }),
  logout: () => request("POST", "/api/auth/logout"),
  me: () => request("GET", "/api/auth/me"),
  /** @returns {Promise<{ devices: any[], next_cursor: string | null }>} */
  async devices(cursor) {
    const query = new URLSearchParams({ limit: "100" });
    if (cursor) query.set("cursor", cursor);
    const { devices, next_cursor } = await request("GET", `/api/devices?${query}`);
    return { devices, next_cursor };
  },
  /** Latest first, as the API returns them. */
  async latest(deviceId, limit) {
    const { points } = await request(
      "GET",
      `/api/devices/${encodeURIComponent(deviceId)}/telemetry?limit=${limit}`,
    );
    return points;
  },
  /** Trend buckets (docs/design/trends.md): `{ interval, time_zone, buckets: [{ start_ms, metrics }] }`. */
  aggregate(deviceId, { from, to, interval }) {
    const query = new URLSearchParams({ from: String(from), to: String(to), interval });
    return request("GET", `/api/devices/${encodeURIComponent(deviceId)}/telemetry/aggregate?${query}`);
  },
  /** The range as CSV (raw points, or buckets with `interval`), as a Blob to save. */
  async exportCsv(deviceId, { from, to, interval }) {
    const query = new URLSearchParams({ from: String(from), to: String(to) });
    if (interval) query.set("interval", interval);
    let response;
    try {
      response = await fetch(`/api/devices/${encodeURIComponent(deviceId)}/telemetry.csv?${query}`, {
        headers: { [config.tenant_header]: tenant },
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch {
      throw new ApiError(0, "NETWORK", "The server cannot be reached. Check your connection.");
    }
    if (!response.ok) {
      const error = (await response.json().catch(() => null))?.error ?? {};
      throw new ApiError(
        response.status,
        error.code ?? `HTTP_${response.status}`,
        error.message ?? "Export failed.",
      );
    }
    return response.blob();
  },
  /** One page of alarms in one state, newest raised first (docs/design/alarms.md). */
  async alarms(state, limit = 100) {
    const query = new URLSearchParams({ state, limit: String(limit) });
    const { alarms, next_cursor } = await request("GET", `/api/alarms?${query}`);
    return { alarms, next_cursor };
  },
  /** How many alarms are in `state`, counted by the server without reading them: `{ state, count }`. */
  alarmCount: (state = "active") => request("GET", `/api/alarms/count?state=${encodeURIComponent(state)}`),
  /** @returns {Promise<{ alarm: any }>} */
  acknowledgeAlarm: (id) => request("POST", `/api/alarms/${encodeURIComponent(id)}/ack`),
  /** Name or location (`{ location: { site, building, floor, zone } }`): `{ device }`. */
  updateDevice: (id, body) => request("PATCH", `/api/devices/${encodeURIComponent(id)}`, body),
  /** One point definition `{ name, unit, kind, min, max, labels }`: `{ device }`. */
  setPoint: (id, metric, definition) =>
    request("PUT", `/api/devices/${encodeURIComponent(id)}/points/${encodeURIComponent(metric)}`, definition),
  /** @returns {Promise<{ device: any }>} */
  deletePoint: (id, metric) =>
    request("DELETE", `/api/devices/${encodeURIComponent(id)}/points/${encodeURIComponent(metric)}`),
  /** Alarm rules, oldest first: one device's (all of them), or a page of the tenant's. */
  async alarmRules({ deviceId, cursor } = {}) {
    const query = new URLSearchParams({ limit: "200" });
    if (deviceId) query.set("device_id", deviceId);
    if (cursor) query.set("cursor", cursor);
    const { rules, next_cursor } = await request("GET", `/api/alarm-rules?${query}`);
    return { rules, next_cursor };
  },
  /** @returns {Promise<{ rule: any }>} */
  createAlarmRule: (rule) => request("POST", "/api/alarm-rules", rule),
  deleteAlarmRule: (id) => request("DELETE", `/api/alarm-rules/${encodeURIComponent(id)}`),
  tenant: () => request("GET", "/api/tenant"),
  setTimeZone: (timeZone) => request("PATCH", "/api/tenant", { time_zone: timeZone }),
  async audit(filters, cursor) {
    const query = new URLSearchParams({ limit: "25" });
    if (filters.user_id) query.set("user_id", filters.user_id);
    if (filters.action) query.set("action", filters.action);
    if (cursor) query.set("cursor", cursor);
    const { entries, next_cursor } = await request("GET", `/api/audit?${query}`);
    return { entries, next_cursor };
  },
  async users() {
    const { users } = await request("GET", "/api/users?limit=100");
    return users;
  },
  /** @returns {Promise<{ flags: Record<string, boolean>, firestoreConfigured: boolean }>} */
  async flags() {
    return describeFlags(await request("GET", "/api/admin/flags"));
  },
};

/** `{ flags, stores, firestore_configured }`, as `GET /api/admin/flags` answers. */
function describeFlags(body) {
  return { flags: body.flags, firestoreConfigured: body.firestore_configured };
}
