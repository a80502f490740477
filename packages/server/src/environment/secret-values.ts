import { ConfigError } from "../config/env.js";
import { SECRETS } from "./catalogue.js";

/**
 * The values for secrets `env apply` creates, as `NAME=VALUE` lines on stdin (blank lines and `#` comments
 * skipped; a value runs to the end of its line, `=` included). Never from arguments or the environment,
 * where values end up in shell history, `ps` and logs; never echoed back, even in an error.
 *
 * @example
 * parseSecretValues("firestore-project-id=bas-prod\n"); // Map { "firestore-project-id" => "bas-prod" }
 */
export function parseSecretValues(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const at = `stdin line ${i + 1}`;
    const separator = line.indexOf("=");
    if (separator <= 0) throw new ConfigError(at, "NAME=VALUE");
    const name = line.slice(0, separator).trim();
    const value = line.slice(separator + 1).trim();
    const definition = SECRETS.find((secret) => secret.id === name);
    if (!definition) {
      throw new ConfigError(
        at,
        `one of the environment's secrets (${SECRETS.map((secret) => secret.id).join(", ")})`,
        name,
      );
    }
    if (values.has(name)) throw new ConfigError(at, `the only value for ${name}`);
    // The value itself is never part of the message.
    if (!definition.value.safeParse(value).success)
      throw new ConfigError(`${at} (${name})`, definition.expected);
    values.set(name, value);
  }
  return values;
}
