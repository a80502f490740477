import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { AppError } from "../errors.js";
import { requires } from "../http/route-security.js";
import {
  DeviceLocation,
  DeviceName,
  IdParams,
  MetricName,
  PointDefinition,
  PublicDevice,
} from "../http/schemas.js";
import type { ServiceContext } from "../service.js";
import type { Device, DeviceChange, PointDefinition as StoredPointDefinition } from "../stores/types.js";
import { checkPointDefinition, withPoint } from "./points.js";
import { publicDevice } from "./public-device.js";

const DevicePatch = Type.Object(
  {
    name: Type.Optional(DeviceName),
    location: Type.Optional(
      Type.Partial(DeviceLocation, {
        additionalProperties: false,
        description: "the tags given replace theirs (null clears one); the others stay",
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

// A definition as sent: unit, range and labels may be left out (null).
const PointDefinitionBody = Type.Object(
  {
    name: PointDefinition.properties.name,
    kind: PointDefinition.properties.kind,
    unit: Type.Optional(PointDefinition.properties.unit),
    min: Type.Optional(PointDefinition.properties.min),
    max: Type.Optional(PointDefinition.properties.max),
    labels: Type.Optional(PointDefinition.properties.labels),
  },
  { additionalProperties: false },
);

const PointParams = Type.Object(
  { id: IdParams.properties.id, metric: MetricName },
  { additionalProperties: false },
);

const DeviceAnswer = { 200: Type.Object({ device: PublicDevice }) };

/**
 * Where a device is and what its metrics mean (docs/design/devices.md), edited by the tenant's admins:
 * `PATCH /api/devices/:id` (name, location) and one point definition at a time
 * (`PUT|DELETE /api/devices/:id/points/:metric`), so that two admins editing different points lose
 * neither edit and each audit entry names the metric it changed. Reading is `GET /api/devices[/:id]`.
 */
export function registerDeviceDefinitionRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  /**
   * The change, made in the store's transaction and announced to every instance's device cache (the
   * telemetry reads flag out-of-range points from the cached definitions).
   */
  const update = async (tenant: string, id: string, change: (device: Device) => DeviceChange | null) => {
    const device = await ctx.router.stores.devices.update(tenant, id, change);
    if (device) await ctx.devices.changed(tenant, id);
    if (!device) throw new AppError("NOT_FOUND", "No such device.");
    return device;
  };

  api.patch(
    "/api/devices/:id",
    {
      config: requires.admin,
      schema: {
        operationId: "patchDevicesById",
        tags: ["devices"],
        summary: "Rename a device or change its location",
        params: IdParams,
        body: DevicePatch,
        response: DeviceAnswer,
      },
    },
    async (request) => {
      const { id } = request.params;
      const { name, location } = request.body;
      await ctx.devices.owned(request, id);
      const device = await update(request.tenant, id, (current) => ({
        ...(name !== undefined && { name }),
        ...(location !== undefined && { location: { ...current.location, ...location } }),
      }));
      await request.audit({
        action: "device.update",
        outcome: "success",
        target: `device:${id}`,
        details: { fields: Object.keys(request.body).sort() },
      });
      return { device: publicDevice(device, ctx.connectivity) };
    },
  );

  api.put(
    "/api/devices/:id/points/:metric",
    {
      config: requires.admin,
      schema: {
        operationId: "putDevicesByIdPointsByMetric",
        tags: ["devices"],
        summary: "Define one of the device's points: display name, unit, kind, valid range or labels",
        params: PointParams,
        body: PointDefinitionBody,
        response: DeviceAnswer,
      },
    },
    async (request) => {
      const { id, metric } = request.params;
      const { body } = request;
      const definition: StoredPointDefinition = {
        name: body.name,
        unit: body.unit ?? null,
        kind: body.kind,
        min: body.min ?? null,
        max: body.max ?? null,
        labels: body.labels ?? null,
      };
      checkPointDefinition(metric, definition);
      await ctx.devices.owned(request, id);
      const device = await update(request.tenant, id, (current) => ({
        points: withPoint(current, metric, definition),
      }));
      await request.audit({
        action: "device.point_set",
        outcome: "success",
        target: `device:${id}`,
        details: { metric, kind: definition.kind },
      });
      return { device: publicDevice(device, ctx.connectivity) };
    },
  );

  api.delete(
    "/api/devices/:id/points/:metric",
    {
      config: requires.admin,
      schema: {
        operationId: "deleteDevicesByIdPointsByMetric",
        tags: ["devices"],
        summary: "Remove one of the device's point definitions (its telemetry stays); idempotent",
        params: PointParams,
        response: DeviceAnswer,
      },
    },
    async (request) => {
      const { id, metric } = request.params;
      await ctx.devices.owned(request, id);
      let removed = false;
      const device = await update(request.tenant, id, (current) => {
        removed = Object.hasOwn(current.points, metric);
        if (!removed) return null;
        const { [metric]: _gone, ...points } = current.points;
        return { points };
      });
      await request.audit({
        action: "device.point_delete",
        outcome: "success",
        target: `device:${id}`,
        details: { metric, removed },
      });
      return { device: publicDevice(device, ctx.connectivity) };
    },
  );
}
