import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { AppError } from "../errors.js";
import { requires } from "../http/route-security.js";
import { Cursor, DeviceName, IdParams, NextCursor, PageLimit, PublicDevice } from "../http/schemas.js";
import type { ServiceContext } from "../service.js";
import type { Device } from "../stores/types.js";
import { publicDevice as withStatus } from "./public-device.js";
import { newDeviceToken } from "./tokens.js";

/** `/api/devices`: list and read (any role); create, delete, rotate the token (admin). */
export function registerDeviceRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const publicDevice = (device: Device) => withStatus(device, ctx.connectivity);

  api.get(
    "/api/devices",
    {
      config: requires.anyRole,
      schema: {
        tags: ["devices"],
        summary: "List the tenant's devices",
        response: { 200: Type.Object({ devices: Type.Array(PublicDevice), next_cursor: NextCursor }) },
        querystring: Type.Object(
          {
            limit: Type.Optional(PageLimit),
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
      config: requires.admin,
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
      const { token, hash } = newDeviceToken();
      const device = await ctx.router.stores.devices.create(request.tenant, {
        name: request.body.name,
        token_hash: hash,
      });
      await request.audit({
        action: "device.create",
        outcome: "success",
        target: `device:${device.id}`,
      });
      // The token is in this answer only: no cache (browser, proxy) may keep a copy.
      return reply
        .status(201)
        .header("cache-control", "no-store")
        .send({ device: publicDevice(device), token });
    },
  );

  api.get(
    "/api/devices/:id",
    {
      config: requires.anyRole,
      schema: {
        tags: ["devices"],
        summary: "One device",
        params: IdParams,
        response: { 200: Type.Object({ device: PublicDevice }) },
      },
    },
    async (request) => {
      const { id } = request.params;
      // From the store, not the device cache: last_seen_ms and the definitions as they are now. The
      // access check (403 and audit for another tenant's, 404) runs only when the store finds none.
      const device =
        (await ctx.router.stores.devices.get(request.tenant, id)) ?? (await ctx.devices.owned(request, id));
      return { device: publicDevice(device) };
    },
  );

  api.delete(
    "/api/devices/:id",
    {
      config: requires.admin,
      schema: {
        tags: ["devices"],
        summary: "Delete a device (its telemetry ages out)",
        params: IdParams,
        response: { 200: Type.Object({ deleted: Type.Boolean() }) },
      },
    },
    async (request) => {
      const { id } = request.params;
      await ctx.devices.owned(request, id);
      await ctx.router.stores.devices.delete(request.tenant, id);
      await ctx.devices.changed(request.tenant, id);
      await request.audit({
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
      config: requires.admin,
      schema: {
        tags: ["devices"],
        summary: "Rotate the device's token; the old one stops working at once, on every instance within 2 s",
        params: IdParams,
        response: {
          200: Type.Object({ device: PublicDevice, token: Type.String({ description: "shown once" }) }),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      await ctx.devices.owned(request, id);
      const { token, hash } = newDeviceToken();
      const device = await ctx.router.stores.devices.setTokenHash(request.tenant, id, hash);
      if (!device) throw new AppError("NOT_FOUND", "No such device.");
      await ctx.devices.changed(request.tenant, id);
      await request.audit({
        action: "device.token_rotate",
        outcome: "success",
        target: `device:${id}`,
      });
      reply.header("cache-control", "no-store");
      return { device: publicDevice(device), token };
    },
  );
}
