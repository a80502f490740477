import type { PasswordHasher } from "../auth/passwords.js";
import type { Stores } from "../stores/types.js";

/** The demo's well-known sign-in. Local demo only: `firebrick simulate --serve` prints it. */
export const DEMO_LOGIN = { tenant: "demo", username: "demo", password: "firebrick-demo" } as const;

/**
 * Makes sure the demo tenant exists with an admin who signs in with the demo's known password, so that
 * `npm run demo` can show its credentials every time (the first-run admin's password is shown only once).
 * Sets the password only when it differs, and then revokes that user's sessions as any password change does.
 */
export async function ensureDemoAdmin(
  stores: Pick<Stores, "tenants" | "users" | "sessions">,
  passwords: PasswordHasher,
  login: { tenant: string; username: string; password: string } = DEMO_LOGIN,
): Promise<{ created: boolean; passwordReset: boolean }> {
  if (!(await stores.tenants.get(login.tenant))) {
    await stores.tenants.create({ id: login.tenant, name: "Demo" });
  }
  const existing = await stores.users.getByUsername(login.tenant, login.username);
  if (!existing) {
    await stores.users.create(login.tenant, {
      username: login.username,
      role: "admin",
      ...(await passwords.hash(login.password)),
    });
    return { created: true, passwordReset: false };
  }
  const passwordReset = (await passwords.check(existing, login.password)) !== "ok";
  if (passwordReset) {
    await stores.users.updatePassword(login.tenant, existing.id, await passwords.hash(login.password));
  }
  const promoted = existing.role !== "admin";
  if (promoted) await stores.users.updateRole(login.tenant, existing.id, "admin");
  // A password or role change revokes the user's sessions, as it does through the API
  // (docs/design/sessions.md).
  if (passwordReset || promoted) await stores.sessions.deleteAllForUser(login.tenant, existing.id);
  return { created: false, passwordReset };
}
