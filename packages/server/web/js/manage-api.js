// The calls of the Manage and Account views (docs/design/api.md), through the dashboard's one door
// (`request` in api.js): devices and their tokens.
import { request } from "./api.js";

const path = (...parts) => parts.map((part) => encodeURIComponent(part)).join("/");

export const manageApi = {
  /** One page of devices, in the API's order. @returns {Promise<{ devices: any[], next_cursor: string | null }>} */
  async devices(cursor, limit = 50) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor) query.set("cursor", cursor);
    const { devices, next_cursor } = await request("GET", `/api/devices?${query}`);
    return { devices, next_cursor };
  },
  /** @returns {Promise<{ device: any, token: string }>} the token is in this answer only */
  createDevice: (name) => request("POST", "/api/devices", { name }),
  /** @param {{ name?: string, location?: Record<string, string | null> }} change */
  updateDevice: (id, change) => request("PATCH", `/api/devices/${path(id)}`, change),
  deleteDevice: (id) => request("DELETE", `/api/devices/${path(id)}`),
  /** @returns {Promise<{ device: any, token: string }>} the old token stops working at once */
  rotateDeviceToken: (id) => request("POST", `/api/devices/${path(id)}/token`),
};
