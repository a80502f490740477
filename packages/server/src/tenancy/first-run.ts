import { randomBytes } from "node:crypto";
import type { PasswordHasher } from "../auth/passwords.js";
import { StoreConflictError, type Stores } from "../stores/types.js";

export const DEMO_TENANT = "demo";
export const DEMO_ADMIN = "admin";

/**
 * On an empty store (no tenant at all), creates tenant `demo` and an admin with a generated password,
 * and returns the credentials so the caller can print them once (docs/design/tenancy.md). Returns null
 * otherwise. Two instances starting together on one empty store: one wins, the other sees the conflict and
 * skips.
 */
export async function ensureFirstRun(
  stores: Pick<Stores, "tenants" | "users">,
  passwords: PasswordHasher,
): Promise<{ tenant: string; username: string; password: string } | null> {
  if ((await stores.tenants.list()).length > 0) return null;
  const password = randomBytes(18).toString("base64url");
  try {
    await stores.tenants.create({ id: DEMO_TENANT, name: "Demo" });
    await stores.users.create(DEMO_TENANT, {
      username: DEMO_ADMIN,
      role: "admin",
      ...(await passwords.hash(password)),
    });
  } catch (error) {
    if (error instanceof StoreConflictError) return null;
    throw error;
  }
  return { tenant: DEMO_TENANT, username: DEMO_ADMIN, password };
}
