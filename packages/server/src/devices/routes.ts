import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { Type } from "typebox";
import { recordAudit } from "../audit/recorder.js";
import { denyCrossTenant } from "../auth/request-gate.js";
import { AppError } from "../errors.js";
import { Cursor, IdParams, NextCursor, PublicDevice } from "../http/schemas.js";
import { ADMIN, ANY_ROLE, type ServiceContext } from "../service.js";
import { newOpaqueToken, tokenHash } from "../sessions/tokens.js";
import type { Device } from "../stores/types.js";
import type { DeviceDirectory } from "./directory.js";

/** Device tokens start with this, so that a leaked one is recognisable (secret scanners, logs). */
export const DEVICE_TOKEN_PREFIX = "fbd_";

export function publicDevice(device: Device) {
  return {
    id: device.id,
    name: device.name,
    tenant_id: device.tenant_id,
    created_at: device.created_at,
    token_rotated_at: device.token_rotated_at,
  };
}

export const DeviceName = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: "^[^\\u0000-\\u001f\\u007f]+$",
});

/**
 * The device a request names, if it belongs to the request's tenant: another tenant's device is a
 * 403 with an audit entry, an unknown one a 404.
 */
export async function ownedDevice(
  ctx: ServiceContext,
  directory: DeviceDirectory,
  request: FastifyRequest,
  id: string,
): Promise<Device> {
  const device = await directory.get(request.tenant, id);
  if (device) return device;
  if ((await ctx.router.stores.devices.ownership(request.tenant, id)) === "other_tenant") {
    return denyCrossTenant(ctx, request, `device:${id}`);
  }
  throw new AppError("NOT_FOUND", "No such device.");
}

/** `/api/devices`: list and read (any role); create, delete, rotate the token (admin). */
export function registerDeviceRoutes(
  app: FastifyInstance,
  ctx: ServiceContext,
  directory: DeviceDirectory,
): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const admin = { security: { auth: "session" as const, roles: ADMIN } };
  const reader = { security: { auth: "session" as const, roles: ANY_ROLE } };

  api.get(
    "/api/devices",
    {
      config: reader,
      schema: {
        tags: ["devices"],
        summary: "List the tenant's devices",
        response: { 200: Type.Object({ devices: Type.Array(PublicDevice), next_cursor: NextCursor }) },
        querystring: Type.Object(
          {
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
            cursor: Type.Optional(Cursor),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const page = await ctx.router.stores.devices.list(request.tenant, {
        limit: request.query.limit ?? 100,
        cursor: request.query.cursor ?? null,
      });
      return { devices: page.items.map(publicDevice), next_cursor: page.next_cursor };
    },
  );

  api.post(
    "/api/devices",
    {
      config: admin,
      schema: {
        tags: ["devices"],
        summary: "Register a device; its bearer token is in this response only",
        body: Type.Object({ name: DeviceName }, { additionalProperties: false }),
        response: {
          201: Type.Object({ device: PublicDevice, token: Type.String({ description: "shown once" }) }),
        },
      },
    },
    async (request, reply) => {
      const token = newOpaqueToken(DEVICE_TOKEN_PREFIX);
      const device = await ctx.router.stores.devices.create(request.tenant, {
        name: request.body.name,
        token_hash: tokenHash(token),
      });
      await recordAudit(ctx.router.stores.audit, ctx.clock, request, {
        action: "device.create",
        outcome: "success",
        target: `device:${device.id}`,
      });
      return reply.status(201).send({ device: publicDevice(device), token });
    },
  );

  api.get(
    "/api/devices/:id",
    {
      config: reader,
      schema: {
        tags: ["devices"],
        summary: "One device",
        params: IdParams,
        response: { 200: Type.Object({ device: PublicDevice }) },
      },
    },
    async (request) => ({
      device: publicDevice(await ownedDevice(ctx, directory, request, request.params.id)),
    }),
  );

  api.delete(
    "/api/devices/:id",
    {
      config: admin,
      schema: { tags: ["devices"], summary: "Delete a device (its telemetry ages out)", params: IdParams },
    },
    async (request) => {
      const { id } = request.params;
      await ownedDevice(ctx, directory, request, id);
      await ctx.router.stores.devices.delete(request.tenant, id);
      directory.forget(request.tenant, id);
      await recordAudit(ctx.router.stores.audit, ctx.clock, request, {
        action: "device.delete",
        outcome: "success",
        target: `device:${id}`,
      });
      return { deleted: true };
    },
  );

  api.post(
    "/api/devices/:id/token",
    {
      config: admin,
      schema: {
        tags: ["devices"],
        summary: "Rotate the device's token; the old one stops working at once",
        params: IdParams,
        response: {
          200: Type.Object({ device: PublicDevice, token: Type.String({ description: "shown once" }) }),
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      await ownedDevice(ctx, directory, request, id);
      const token = newOpaqueToken(DEVICE_TOKEN_PREFIX);
      const device = await ctx.router.stores.devices.setTokenHash(request.tenant, id, tokenHash(token));
      directory.forget(request.tenant, id);
      if (!device) throw new AppError("NOT_FOUND", "No such device.");
      await recordAudit(ctx.router.stores.audit, ctx.clock, request, {
        action: "device.token_rotate",
        outcome: "success",
        target: `device:${id}`,
      });
      return { device: publicDevice(device), token };
    },
  );
}
