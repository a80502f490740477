/**
 * The simulator's HTTP client for Firebrick's API (docs/design/api.md). It talks to the server exactly as a
 * building's gateway and an operator would: an admin session (cookie) to list and create devices, and
 * each device's bearer token to post its telemetry.
 */

export interface ApiClientOptions {
  /** e.g. `http://127.0.0.1:8080` */
  baseUrl: string;
  tenant: string;
  /** TENANT_ID_HEADER of the server. */
  tenantHeader: string;
}

export interface SimulatorDevice {
  id: string;
  name: string;
}

export interface TelemetryPoint {
  timestamp_ms: number;
  metrics: Record<string, number>;
}

/** An API call that failed; `status` 0 means the server could not be reached. */
export class ApiRequestError extends Error {
  override name = "ApiRequestError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
  }
}

export class FirebrickApiClient {
  #cookie: string | null = null;

  constructor(readonly options: ApiClientOptions) {}

  get hasSession(): boolean {
    return this.#cookie !== null;
  }

  async login(username: string, password: string): Promise<{ id: string; username: string; role: string }> {
    const response = await this.#send("POST", "/api/auth/login", { body: { username, password } });
    const cookies = response.headers.getSetCookie().map((cookie) => cookie.split(";")[0]!.trim());
    if (cookies.length === 0)
      throw new ApiRequestError(response.status, "NO_SESSION", "login set no session cookie");
    this.#cookie = cookies.join("; ");
    const body = (await response.json()) as { user: { id: string; username: string; role: string } };
    return body.user;
  }

  /** Every device of the tenant, following the cursor. */
  async listDevices(): Promise<SimulatorDevice[]> {
    const devices: SimulatorDevice[] = [];
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ limit: "100" });
      if (cursor) query.set("cursor", cursor);
      const response = await this.#send("GET", `/api/devices?${query}`);
      const body = (await response.json()) as { devices?: SimulatorDevice[]; next_cursor?: string | null };
      for (const device of body.devices ?? [])
        devices.push({ id: String(device.id), name: String(device.name) });
      cursor = body.next_cursor ?? null;
    } while (cursor);
    return devices;
  }

  async createDevice(name: string): Promise<SimulatorDevice & { token: string }> {
    const response = await this.#send("POST", "/api/devices", { body: { name } });
    const body = (await response.json()) as { device: SimulatorDevice; token: string };
    return { id: String(body.device.id), name: String(body.device.name), token: body.token };
  }

  /** Issues a new token for a device whose token we no longer have (the old one stops working). */
  async rotateToken(deviceId: string): Promise<string> {
    const response = await this.#send("POST", `/api/devices/${encodeURIComponent(deviceId)}/token`);
    const body = (await response.json()) as { token: string };
    return body.token;
  }

  /** Posts points with the device's own token. Throws ApiRequestError (429 carries retryAfterMs). */
  async postTelemetry(deviceId: string, token: string, points: TelemetryPoint[]): Promise<void> {
    const response = await this.#send("POST", `/api/devices/${encodeURIComponent(deviceId)}/telemetry`, {
      body: { points },
      bearer: token,
    });
    await response.body?.cancel();
  }

  async #send(
    method: string,
    path: string,
    options: { body?: unknown; bearer?: string } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { [this.options.tenantHeader]: this.options.tenant };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    if (options.bearer) headers.authorization = `Bearer ${options.bearer}`;
    else if (this.#cookie) headers.cookie = this.#cookie;
    let response: Response;
    try {
      response = await fetch(new URL(path, this.options.baseUrl), {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
    } catch (error) {
      const reason =
        error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
      throw new ApiRequestError(0, "NETWORK", `cannot reach ${this.options.baseUrl}: ${reason}`);
    }
    if (response.ok) return response;
    let code = `HTTP_${response.status}`;
    let message = response.statusText;
    try {
      const body = (await response.json()) as { error?: { code?: string; message?: string } };
      code = body.error?.code ?? code;
      message = body.error?.message ?? message;
    } catch {
      // Not our JSON error format (a proxy, say): the status says enough.
    }
    throw new ApiRequestError(
      response.status,
      code,
      `${method} ${path.split("?")[0]}: ${response.status} ${code}: ${message}`,
      retryAfterMs(response.headers.get("retry-after")),
    );
  }
}

function retryAfterMs(value: string | null): number | null {
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}
