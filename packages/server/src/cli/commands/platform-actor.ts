import { hostname, userInfo } from "node:os";

/**
 * Who the platform operator is, as the platform audit log records them: `cli:<os user>@<host>`.
 * A container without a password entry for its user is named by uid.
 */
export function platformActor(): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = `uid-${process.getuid?.() ?? "unknown"}`;
  }
  return `cli:${user}@${hostname()}`;
}
