import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DeviceTokenFile } from "./device-tokens.js";

const fresh = () =>
  new DeviceTokenFile(join(mkdtempSync(join(tmpdir(), "firebrick-sim-")), "sub", "devices.json"));

describe("simulator device token file", () => {
  it("returns no devices before anything was saved", () => {
    expect(fresh().load("http://127.0.0.1:8080", "demo")).toEqual([]);
  });

  it("keeps devices per server and tenant, readable only by their owner", () => {
    const file = fresh();
    const device = { id: "d1", name: "Zone 1.01 Reception", token: "secret" };
    file.save("http://127.0.0.1:8080/", "demo", [device]);
    file.save("http://127.0.0.1:8080", "other", [{ ...device, id: "d2" }]);
    expect(new DeviceTokenFile(file.path).load("http://127.0.0.1:8080", "demo")).toEqual([device]);
    expect(file.load("http://127.0.0.1:8080", "other")[0]?.id).toBe("d2");
    expect(file.load("http://127.0.0.1:9090", "demo")).toEqual([]);
    expect(statSync(file.path).mode & 0o777).toBe(0o600);
  });

  it("refuses a file that is not its own, with the path in the message", () => {
    const file = fresh();
    file.save("http://127.0.0.1:8080", "demo", []);
    writeFileSync(file.path, '{"hello":"world"}');
    expect(() => file.load("http://127.0.0.1:8080", "demo")).toThrow(file.path);
  });
});
