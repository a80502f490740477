import { type Command, Option } from "commander";
import { createPasswordHasher } from "../../auth/passwords.js";
import type { OpenedStores } from "../../runtime/open-stores.js";
import { createSessionManager } from "../../sessions/manager.js";
import { ROLES, type Role, StoreConflictError, type User } from "../../stores/types.js";
import { CommandFailed, UsageError } from "../errors.js";
import { printTable } from "../table.js";
import { readNewPassword } from "./password-input.js";
import { auditFromCli, everyPage, requireTenant, tenantArgument, withStores } from "./stores.js";

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

function usernameArgument(value: string): string {
  if (!USERNAME.test(value))
    throw new UsageError(`invalid username ${JSON.stringify(value)}: 1–64 letters, digits, . _ @ or -`);
  return value;
}

const roleOption = () =>
  new Option("--role <role>", "admin, operator or viewer").choices(ROLES as Role[]).makeOptionMandatory();

export function registerUsers(program: Command): void {
  const users = program.command("users");

  users
    .command("create")
    .description("create a user; the password comes from a hidden prompt or --password-stdin, never argv")
    .requiredOption("--tenant <tenant>", "the user's tenant")
    .requiredOption("--username <username>", "the user name (unique per tenant, case-insensitive)")
    .addOption(roleOption())
    .option("--password-stdin", "read the password from the first line of stdin")
    .action(async (options: { tenant: string; username: string; role: Role; passwordStdin?: boolean }) => {
      const tenant = tenantArgument(options.tenant);
      const username = usernameArgument(options.username);
      const password = await readNewPassword(options.passwordStdin === true);
      const user = await withStores(async (opened) => {
        await requireTenant(opened, tenant);
        const stored = await createPasswordHasher().hash(password);
        try {
          const created = await opened.router.stores.users.create(tenant, {
            username,
            role: options.role,
            ...stored,
          });
          await auditFromCli(opened, tenant, "user.create", created.id, { role: created.role });
          return created;
        } catch (error) {
          if (error instanceof StoreConflictError)
            throw new CommandFailed(`user ${JSON.stringify(username)} exists already in ${tenant}`);
          throw error;
        }
      });
      console.log(`created user ${user.username} (${user.role}) in ${tenant}: ${user.id}`);
    });

  users
    .command("list")
    .description("list a tenant's users")
    .requiredOption("--tenant <tenant>", "the tenant")
    .option("--json", "print JSON")
    .action(async (options: { tenant: string; json?: boolean }) => {
      const tenant = tenantArgument(options.tenant);
      const all = await withStores(async (opened) => {
        await requireTenant(opened, tenant);
        const { users } = opened.router.stores;
        return (await everyPage((page) => users.list(tenant, page))).map(
          ({ id, username, role, created_at }) => ({ id, username, role, created_at }),
        );
      });
      if (options.json) console.log(JSON.stringify({ users: all }));
      else
        printTable(
          ["ID", "ROLE", "USERNAME", "CREATED"],
          all.map((user) => [user.id, user.role, user.username, new Date(user.created_at).toISOString()]),
          `no users in ${tenant}`,
        );
    });

  users
    .command("set-role")
    .description("change a user's role; their sessions are revoked")
    .requiredOption("--tenant <tenant>", "the tenant")
    .requiredOption("--username <username>", "the user")
    .addOption(roleOption())
    .action(async (options: { tenant: string; username: string; role: Role }) => {
      const tenant = tenantArgument(options.tenant);
      const username = usernameArgument(options.username);
      const revoked = await withStores(async (opened) => {
        const user = await existingUser(opened, tenant, username);
        await opened.router.stores.users.updateRole(tenant, user.id, options.role);
        const revoked = await revokeSessions(opened, tenant, user.id);
        await auditFromCli(opened, tenant, "user.update", user.id, { changed: ["role"], role: options.role });
        return revoked;
      });
      console.log(`${username} in ${tenant} is now ${options.role} (${revoked} session(s) revoked)`);
    });

  users
    .command("delete")
    .description("delete a user; their sessions end at once")
    .requiredOption("--tenant <tenant>", "the tenant")
    .requiredOption("--username <username>", "the user")
    .action(async (options: { tenant: string; username: string }) => {
      const tenant = tenantArgument(options.tenant);
      const username = usernameArgument(options.username);
      const revoked = await withStores(async (opened) => {
        const user = await existingUser(opened, tenant, username);
        // Sessions first: a session must never outlive its user, even for a moment.
        const revoked = await revokeSessions(opened, tenant, user.id);
        await opened.router.stores.users.delete(tenant, user.id);
        await auditFromCli(opened, tenant, "user.delete", user.id);
        return revoked;
      });
      console.log(`deleted ${username} from ${tenant} (${revoked} session(s) revoked)`);
    });

  users
    .command("reset-password")
    .description(
      "set a user's password (from a hidden prompt or --password-stdin, never argv); signs the user out everywhere",
    )
    .requiredOption("--tenant <tenant>", "the tenant")
    .requiredOption("--username <username>", "the user")
    .option("--password-stdin", "read the new password from the first line of stdin")
    .action(async (options: { tenant: string; username: string; passwordStdin?: boolean }) => {
      const tenant = tenantArgument(options.tenant);
      const username = usernameArgument(options.username);
      const revoked = await withStores(async (opened) => {
        // The user is looked up before the prompt: no typing a password for a user who does not exist.
        const user = await existingUser(opened, tenant, username);
        const password = await readNewPassword(options.passwordStdin === true);
        const stored = await createPasswordHasher().hash(password);
        await opened.router.stores.users.updatePassword(tenant, user.id, stored);
        const revoked = await revokeSessions(opened, tenant, user.id);
        await auditFromCli(opened, tenant, "user.update", user.id, { changed: ["password"] });
        return revoked;
      });
      console.log(`new password set for ${username} in ${tenant} (${revoked} session(s) revoked)`);
    });
}

async function existingUser(opened: OpenedStores, tenant: string, username: string): Promise<User> {
  const user = await opened.router.stores.users.getByUsername(tenant, username);
  if (!user) throw new CommandFailed(`no user ${JSON.stringify(username)} in ${JSON.stringify(tenant)}`);
  return user;
}

/** Ends every session of the user (a privilege change or a deletion): the number revoked. */
function revokeSessions(opened: OpenedStores, tenant: string, userId: string): Promise<number> {
  const { stores } = opened.router;
  const sessions = createSessionManager({
    sessions: () => stores.sessions,
    users: () => stores.users,
    clock: Date.now,
  });
  return sessions.revokeAllForUser(tenant, userId);
}
