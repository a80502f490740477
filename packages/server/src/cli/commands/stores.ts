import type { Config } from "../../config/env.js";
import { type OpenedStores, openStores } from "../../runtime/open-stores.js";
import { loadStartupConfig } from "../../runtime/startup-config.js";
import { isTenantId } from "../../tenancy/tenant-id.js";
import { CommandFailed, UsageError } from "../errors.js";

/** Runs `task` on the stores the server would use (same configuration, same flags), then closes them. */
export async function withStores<T>(task: (opened: OpenedStores, config: Config) => Promise<T>): Promise<T> {
  const config = await loadStartupConfig();
  const opened = await openStores(config);
  try {
    return await task(opened, config);
  } finally {
    await opened.close();
  }
}

export function tenantArgument(value: string): string {
  if (!isTenantId(value)) {
    throw new UsageError(
      `invalid tenant id ${JSON.stringify(value)}: 1–63 letters, digits, _ or -, starting with a letter or digit`,
    );
  }
  return value;
}

export async function requireTenant(opened: OpenedStores, tenant: string): Promise<void> {
  if (!(await opened.router.stores.tenants.get(tenant))) {
    throw new CommandFailed(
      `no tenant ${JSON.stringify(tenant)} (create it with: firebrick tenants create ${tenant})`,
    );
  }
}

/** Operator actions through the CLI are audited like the API's, with no user and `via: "cli"`. */
export async function auditFromCli(
  opened: OpenedStores,
  tenant: string,
  action: string,
  id: string,
  details: Record<string, unknown> = {},
): Promise<void> {
  await opened.router.stores.audit.append(tenant, {
    action,
    outcome: "success",
    user_id: null,
    timestamp_ms: Date.now(),
    target: `${action.split(".")[0]}:${id}`,
    details: { ...details, via: "cli" },
  });
}

/** Every item of a paged store listing (users, devices), page after page. */
export async function everyPage<T>(
  list: (options: {
    limit: number;
    cursor: string | null;
  }) => Promise<{ items: T[]; next_cursor: string | null }>,
): Promise<T[]> {
  const found: T[] = [];
  let cursor: string | null = null;
  do {
    const page = await list({ limit: 500, cursor });
    found.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return found;
}
