import type { FastifyRequest } from "fastify";
import type {} from "../auth/principal.js";
import { AppError } from "../errors.js";
import type { ChangeFeed } from "../fleet/types.js";
import type { Clock, Device, DevicesStore, TenantId } from "../stores/types.js";
import { refuseOtherTenant } from "../tenancy/cross-tenant.js";
import { DeviceDirectory, LONG_TTL_MS } from "./directory.js";
import { isDeviceToken } from "./tokens.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Who may reach which device, in one place: the request gate authenticates a device by its own bearer
 * token (`authenticate`), and the routes resolve the device a request names (`owned`). Both look the
 * device up through the directory's cache and tell "another tenant's" (403 + audit) apart from
 * "no such device". A rotation or deletion is announced to every instance (`changed`).
 *
 * @example
 * const devices = new DeviceAccess(() => router.stores.devices, fleet.changes, { clock, maxBytes });
 * const device = await devices.owned(request, request.params.id);
 */
export class DeviceAccess {
  readonly #directory: DeviceDirectory;

  readonly #onError: (error: unknown) => void;

  constructor(
    private readonly devices: () => DevicesStore,
    private readonly feed: ChangeFeed,
    options: { clock: Clock; maxBytes: number; onError?: (error: unknown) => void },
  ) {
    this.#directory = new DeviceDirectory(devices, options.clock, options.maxBytes);
    this.#onError = options.onError ?? (() => {});
  }

  /** The device directory: what it holds, and the change feed's health (`server.ts` reports it). */
  get directory(): DeviceDirectory {
    return this.#directory;
  }

  /** The device whose id is in the URL, if `token` is its bearer token; 401 otherwise, 403 for another tenant's. */
  async authenticate(request: FastifyRequest, id: unknown, token: string): Promise<Device> {
    if (typeof id !== "string" || !UUID.test(id)) throw new AppError("UNAUTHENTICATED");
    const device = await this.#find(request, id, "device_tenant_mismatch");
    if (!device || !isDeviceToken(device, token)) {
      throw new AppError("UNAUTHENTICATED", "The device token is not valid.");
    }
    return device;
  }

  /**
   * The device a request names, if it belongs to the request's tenant: another tenant's device is a
   * 403 with an audit entry, an unknown one a 404. A request authenticated by the device's own token
   * has its device already (`request.principal`) and needs no second look.
   */
  async owned(request: FastifyRequest, id: string): Promise<Device> {
    const principal = request.principal;
    if (principal?.kind === "device" && principal.device.id === id) return principal.device;
    const device = await this.#find(request, id, "cross_tenant_resource");
    if (!device) throw new AppError("NOT_FOUND", "No such device.");
    return device;
  }

  /**
   * After a rotation or deletion: this instance forgets the device at once, and the change feed tells
   * every other instance (docs/design/fleet.md) before the caller answers. Should the feed be
   * unreachable, the answer still goes out (a rotated token is shown only in it) and the change is
   * published again, with a growing delay, for as long as other instances may trust the old token
   * (`LONG_TTL_MS`): they forget it as soon as the feed takes it, at the latest when their cache expires.
   */
  async changed(tenant: TenantId, id: string): Promise<void> {
    this.#directory.forget(tenant, id);
    const change = { kind: "device" as const, tenant_id: tenant, subject: id };
    const started = Date.now();
    const attempt = async (delayMs: number): Promise<void> => {
      try {
        await this.feed.publish(change);
      } catch (error) {
        this.#onError(error);
        if (Date.now() - started + delayMs > LONG_TTL_MS) return;
        setTimeout(() => void attempt(Math.min(delayMs * 2, 30_000)), delayMs).unref();
      }
    };
    await attempt(1000);
  }

  /** A change heard on the feed (made on any instance). */
  forget(tenant: TenantId, id: string): void {
    this.#directory.forget(tenant, id);
  }

  /** When the devices move to the other store (the auth area's flag). */
  forgetAll(): void {
    this.#directory.clear();
  }

  async #find(
    request: FastifyRequest,
    id: string,
    reason: "device_tenant_mismatch" | "cross_tenant_resource",
  ): Promise<Device | null> {
    const device = await this.#directory.get(request.tenant, id);
    if (device) return device;
    if ((await this.devices().ownership(request.tenant, id)) === "other_tenant") {
      return refuseOtherTenant(request, reason, `device:${id}`);
    }
    return null;
  }
}
