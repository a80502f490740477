import type { SqliteDatabase } from "../../storage/sqlite.js";

/** Devices visited per batch at most, so that a batch stays short when few of them have expired points. */
export const DEVICES_PER_BATCH = 2000;

/** A device, as tables keyed (tenant_id, device_id, …) begin their key. */
export interface DeviceKey {
  tenant_id: string;
  device_id: string;
}

const BEFORE_FIRST: DeviceKey = { tenant_id: "", device_id: "" };

/**
 * A pass over the devices of a table keyed (tenant_id, device_id, …), along its primary key: finding
 * the next device is one seek on the key, whatever the number of rows per device. The cursor lives in
 * memory; a restart begins a new pass.
 */
export function deviceWalk(db: SqliteDatabase, table: string) {
  // Two seeks, not a row-value comparison: SQLite seeks (tenant_id, device_id) > (?, ?) only as far as
  // the tenant and then scans the device's points (650 µs instead of 4 µs at 9 k points a device).
  const nextInTenant = db.prepare<[string, string], DeviceKey>(
    `SELECT tenant_id, device_id FROM ${table} WHERE tenant_id = ? AND device_id > ?
     ORDER BY tenant_id, device_id LIMIT 1`,
  );
  const firstOfNextTenant = db.prepare<[string], DeviceKey>(
    `SELECT tenant_id, device_id FROM ${table} WHERE tenant_id > ? ORDER BY tenant_id, device_id LIMIT 1`,
  );
  /** The last device whose rows are all handled in this pass. */
  let after = BEFORE_FIRST;
  return {
    /** The device after the last one finished, or undefined at the end of the pass (the next begins anew). */
    next(): DeviceKey | undefined {
      const device =
        nextInTenant.get(after.tenant_id, after.device_id) ?? firstOfNextTenant.get(after.tenant_id);
      if (!device) after = BEFORE_FIRST;
      return device;
    },
    /** The device's rows are all handled in this pass: the next call goes past it. */
    finished(device: DeviceKey): void {
      after = device;
    },
  };
}
