import type { Command } from "commander";
import { newDeviceToken } from "../../devices/tokens.js";
import type { Device } from "../../stores/types.js";
import { CommandFailed, UsageError } from "../errors.js";
import { printTable } from "../table.js";
import { auditFromCli, everyPage, requireTenant, tenantArgument, withStores } from "./stores.js";

const isControl = (char: string) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function deviceIdArgument(value: string): string {
  if (!UUID.test(value)) throw new UsageError(`invalid device id ${JSON.stringify(value)}: a UUID`);
  return value.toLowerCase();
}

/** A device as the API shows it: everything but the token's hash. */
const publicDevice = ({ token_hash: _hash, ...device }: Device) => device;

/** Running servers cache devices for up to 10 s (`devices/directory.ts`): say so where it matters. */
const CACHE_NOTE = "running servers stop accepting the old token within 10 s";

export function registerDevices(program: Command): void {
  const devices = program.command("devices");
  devices
    .command("create")
    .description(
      "register a device and print its id and bearer token (shown this once); a name already taken in the tenant is refused unless --allow-duplicate-name",
    )
    .requiredOption("--tenant <tenant>", "the device's tenant")
    .requiredOption("--name <name>", "a name, e.g. AHU-1")
    .option(
      "--allow-duplicate-name",
      "create it even when another device of the tenant has this name (the dashboard lists devices by name)",
    )
    .option("--json", "print JSON")
    .action(
      async (options: { tenant: string; name: string; allowDuplicateName?: boolean; json?: boolean }) => {
        const tenant = tenantArgument(options.tenant);
        // Same bounds as POST /api/devices.
        if (options.name.length < 1 || options.name.length > 128 || [...options.name].some(isControl)) {
          throw new UsageError("the device name must be 1–128 printable characters");
        }
        const { token, hash } = newDeviceToken();
        const device = await withStores(async (opened) => {
          await requireTenant(opened, tenant);
          const { devices } = opened.router.stores;
          if (!options.allowDuplicateName) {
            const namesake = (await everyPage((page) => devices.list(tenant, page))).filter(
              (existing) => existing.name === options.name,
            );
            if (namesake.length > 0) {
              throw new CommandFailed(
                `a device named ${JSON.stringify(options.name)} exists already in ${tenant} (${namesake
                  .map((existing) => existing.id)
                  .join(", ")}): pick another name, or pass --allow-duplicate-name`,
              );
            }
          }
          const created = await devices.create(tenant, { name: options.name, token_hash: hash });
          await auditFromCli(opened, tenant, "device.create", created.id);
          return created;
        });
        if (options.json) {
          console.log(
            JSON.stringify({
              device: { id: device.id, name: device.name, tenant_id: device.tenant_id },
              token,
            }),
          );
        } else {
          console.log(`device ${device.id} (${device.name}) in ${tenant}`);
          console.log(`token (shown once): ${token}`);
        }
      },
    );

  devices
    .command("list")
    .description("list a tenant's devices, by name")
    .requiredOption("--tenant <tenant>", "the tenant")
    .option("--json", "print JSON")
    .action(async (options: { tenant: string; json?: boolean }) => {
      const tenant = tenantArgument(options.tenant);
      const all = await withStores(async (opened) => {
        await requireTenant(opened, tenant);
        const { devices } = opened.router.stores;
        return (await everyPage((page) => devices.list(tenant, page))).sort(
          (a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }) || a.id.localeCompare(b.id),
        );
      });
      if (options.json) console.log(JSON.stringify({ devices: all.map(publicDevice) }));
      else
        printTable(
          ["ID", "NAME", "CREATED", "TOKEN ROTATED"],
          all.map((device) => [
            device.id,
            device.name,
            new Date(device.created_at).toISOString(),
            new Date(device.token_rotated_at).toISOString(),
          ]),
          `no devices in ${tenant}`,
        );
    });

  devices
    .command("delete")
    .description(`delete a device; its telemetry ages out (${CACHE_NOTE})`)
    .requiredOption("--tenant <tenant>", "the device's tenant")
    .requiredOption("--id <id>", "the device's id (firebrick devices list)")
    .action(async (options: { tenant: string; id: string }) => {
      const tenant = tenantArgument(options.tenant);
      const id = deviceIdArgument(options.id);
      const device = await withStores(async (opened) => {
        const { devices } = opened.router.stores;
        const found = await devices.get(tenant, id);
        if (!found) throw new CommandFailed(`no device ${id} in ${JSON.stringify(tenant)}`);
        await devices.delete(tenant, id);
        await auditFromCli(opened, tenant, "device.delete", id);
        return found;
      });
      console.log(`deleted device ${device.id} (${device.name}) in ${tenant}`);
    });

  devices
    .command("rotate-token")
    .description(`give a device a new bearer token, printed this once (${CACHE_NOTE})`)
    .requiredOption("--tenant <tenant>", "the device's tenant")
    .requiredOption("--id <id>", "the device's id (firebrick devices list)")
    .option("--json", "print JSON")
    .action(async (options: { tenant: string; id: string; json?: boolean }) => {
      const tenant = tenantArgument(options.tenant);
      const id = deviceIdArgument(options.id);
      const { token, hash } = newDeviceToken();
      const device = await withStores(async (opened) => {
        const rotated = await opened.router.stores.devices.setTokenHash(tenant, id, hash);
        if (!rotated) throw new CommandFailed(`no device ${id} in ${JSON.stringify(tenant)}`);
        await auditFromCli(opened, tenant, "device.token_rotate", id);
        return rotated;
      });
      if (options.json) console.log(JSON.stringify({ device: publicDevice(device), token }));
      else {
        console.log(`device ${device.id} (${device.name}) in ${tenant}: new token`);
        console.log(`token (shown once): ${token}`);
      }
    });
}
