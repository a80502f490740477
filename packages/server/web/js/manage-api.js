// The calls of the Manage and Account views (docs/design/api.md), through the dashboard's one door
// (`request` in api.js): devices and their tokens, users and their roles and passwords, and sessions.
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

  /** @returns {Promise<{ users: any[], next_cursor: string | null }>} */
  async users(cursor, limit = 25) {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor) query.set("cursor", cursor);
    const { users, next_cursor } = await request("GET", `/api/users?${query}`);
    return { users, next_cursor };
  },
  createUser: (username, role, password) => request("POST", "/api/users", { username, role, password }),
  /** A role or password change; the API ends the user's sessions. @param {{ role?: string, password?: string }} change */
  updateUser: (id, change) => request("PATCH", `/api/users/${path(id)}`, change),
  deleteUser: (id) => request("DELETE", `/api/users/${path(id)}`),

  /** @returns {Promise<any[]>} a user's sessions (admins) */
  async userSessions(userId) {
    const { sessions } = await request("GET", `/api/users/${path(userId)}/sessions`);
    return sessions;
  },
  revokeUserSession: (userId, sessionId) =>
    request("DELETE", `/api/users/${path(userId)}/sessions/${path(sessionId)}`),
  revokeUserSessions: (userId) => request("DELETE", `/api/users/${path(userId)}/sessions`),

  /** @returns {Promise<any[]>} the signed-in user's own sessions */
  async ownSessions() {
    const { sessions } = await request("GET", "/api/auth/sessions");
    return sessions;
  },
  revokeOwnSession: (sessionId) => request("DELETE", `/api/auth/sessions/${path(sessionId)}`),
  revokeOwnSessions: () => request("DELETE", "/api/auth/sessions"),
};
