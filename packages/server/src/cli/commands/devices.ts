import type { Command } from "commander";
import { newDeviceToken } from "../../devices/tokens.js";
import { UsageError } from "../errors.js";
import { auditFromCli, requireTenant, tenantArgument, withStores } from "./stores.js";

const isControl = (char: string) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f;

export function registerDevices(program: Command): void {
  const devices = program.command("devices");
  devices
    .command("create")
    .description("register a device and print its id and bearer token (shown this once)")
    .requiredOption("--tenant <tenant>", "the device's tenant")
    .requiredOption("--name <name>", "a name, e.g. AHU-1")
    .option("--json", "print JSON")
    .action(async (options: { tenant: string; name: string; json?: boolean }) => {
      const tenant = tenantArgument(options.tenant);
      // Same bounds as POST /api/devices.
      if (options.name.length < 1 || options.name.length > 128 || [...options.name].some(isControl)) {
        throw new UsageError("the device name must be 1–128 printable characters");
      }
      const { token, hash } = newDeviceToken();
      const device = await withStores(async (opened) => {
        await requireTenant(opened, tenant);
        const created = await opened.router.stores.devices.create(tenant, {
          name: options.name,
          token_hash: hash,
        });
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
    });
}
