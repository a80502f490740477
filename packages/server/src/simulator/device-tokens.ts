import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Where the simulator keeps the bearer tokens of the devices it created, so that a re-run reuses the same
 * devices (the server shows a token only once). One file per data directory, keyed by server and tenant;
 * written 0600 because the tokens are credentials.
 */
export interface StoredDevice {
  id: string;
  name: string;
  token: string;
}

interface TokensFile {
  version: 1;
  /** `${baseUrl}|${tenant}` → devices */
  servers: Record<string, StoredDevice[]>;
}

export class DeviceTokenFile {
  constructor(readonly path: string) {}

  load(baseUrl: string, tenant: string): StoredDevice[] {
    return this.#read().servers[key(baseUrl, tenant)] ?? [];
  }

  save(baseUrl: string, tenant: string, devices: StoredDevice[]): void {
    const file = this.#read();
    file.servers[key(baseUrl, tenant)] = devices;
    mkdirSync(dirname(this.path), { recursive: true });
    // Write then rename, so that an interrupted run never leaves a truncated file behind.
    const temporary = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, this.path);
  }

  #read(): TokensFile {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return { version: 1, servers: {} };
      throw error;
    }
    const parsed = JSON.parse(text) as Partial<TokensFile>;
    if (parsed.version !== 1 || typeof parsed.servers !== "object" || parsed.servers === null) {
      throw new Error(`${this.path} is not a simulator token file (delete it to start afresh)`);
    }
    return parsed as TokensFile;
  }
}

function key(baseUrl: string, tenant: string): string {
  return `${new URL(baseUrl).origin}|${tenant}`;
}
