import type { Device } from "../stores/types.js";
import type { Connectivity } from "./connectivity.js";

/** A device as the API shows it (`PublicDevice`): never its token hash; its status derived now. */
export function publicDevice(device: Device, connectivity: Connectivity) {
  return {
    id: device.id,
    name: device.name,
    tenant_id: device.tenant_id,
    created_at: device.created_at,
    token_rotated_at: device.token_rotated_at,
    location: device.location,
    points: device.points,
    last_seen_ms: device.last_seen_ms,
    status: connectivity.status(device),
  };
}
