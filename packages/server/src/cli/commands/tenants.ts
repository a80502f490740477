import type { Command } from "commander";
import { StoreConflictError } from "../../stores/types.js";
import { CommandFailed } from "../errors.js";
import { printTable } from "../table.js";
import { tenantArgument, withStores } from "./stores.js";

export function registerTenants(program: Command): void {
  const tenants = program.command("tenants");
  tenants
    .command("create")
    .description("create a tenant")
    .argument("<tenant_id>", "the tenant's id (letters, digits, _ or -)")
    .option("--name <name>", "a display name (default: the id)")
    .action(async (tenantId: string, options: { name?: string }) => {
      const id = tenantArgument(tenantId);
      await withStores(async ({ router }) => {
        try {
          await router.stores.tenants.create({ id, name: options.name ?? id });
        } catch (error) {
          if (error instanceof StoreConflictError)
            throw new CommandFailed(`tenant ${JSON.stringify(id)} exists already`);
          throw error;
        }
      });
      console.log(`created tenant ${id}`);
    });

  tenants
    .command("list")
    .description("list the tenants")
    .option("--json", "print JSON")
    .action(async (options: { json?: boolean }) => {
      const all = (await withStores(({ router }) => router.stores.tenants.list())).sort((a, b) =>
        a.id.localeCompare(b.id),
      );
      if (options.json) console.log(JSON.stringify({ tenants: all }));
      else
        printTable(
          ["ID", "NAME", "CREATED"],
          all.map((tenant) => [tenant.id, tenant.name, new Date(tenant.created_at).toISOString()]),
          "no tenants",
        );
    });
}
