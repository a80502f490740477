import { z } from "zod";
import { ConfigError } from "./config-error.js";

/**
 * `FIREBRICK_SECRETS`: which configuration keys come from Secret Manager instead of the environment, so
 * that no secret (the Firestore project id first of all, as the migration plan keeps it) lives in the
 * environment. A comma-separated list of `KEY=projects/PROJECT/secrets/SECRET[/versions/VERSION]`
 * (version `latest` by default), e.g.
 *
 *   FIREBRICK_SECRETS=GOOGLE_CLOUD_PROJECT=projects/bas-prod/secrets/firestore-project-id
 *
 * The values are read once, at start-up, before the configuration is final (`loadConfigWithSecrets`), and
 * then validated like any other value — without ever being echoed in an error.
 */
export interface SecretReference {
  /** The configuration key the value is for. */
  key: string;
  projectId: string;
  secretId: string;
  version: string;
}

const REFERENCE =
  /^([A-Z][A-Z0-9_]*)=projects\/([a-z][a-z0-9-]{4,28}[a-z0-9])\/secrets\/([A-Za-z0-9_-]{1,255})(?:\/versions\/(latest|[1-9]\d*))?$/;
export const SECRET_REFERENCES_RULE =
  "a comma-separated list of KEY=projects/PROJECT/secrets/SECRET[/versions/VERSION]";

/** The zod schema `loadConfig` validates `FIREBRICK_SECRETS` with. */
export const secretReferencesSchema = z
  .string()
  .transform((value) =>
    value
      .split(",")
      .map((entry) => entry.trim())
      .filter(Boolean),
  )
  .refine((entries) => entries.length > 0 && entries.every((entry) => REFERENCE.test(entry)))
  .transform((entries) =>
    entries.map((entry): SecretReference => {
      const [, key, projectId, secretId, version] = entry.match(REFERENCE)!;
      return { key: key!, projectId: projectId!, secretId: secretId!, version: version ?? "latest" };
    }),
  )
  .refine((references) => new Set(references.map((reference) => reference.key)).size === references.length);

/** Reads one secret's value (a Secret Manager `versions.access`). */
export type SecretReader = (reference: SecretReference) => Promise<string>;

/** The secret's resource name, for messages (never its value). */
export function secretName(reference: SecretReference): string {
  return `projects/${reference.projectId}/secrets/${reference.secretId}/versions/${reference.version}`;
}

/**
 * The environment with every `FIREBRICK_SECRETS` key filled from Secret Manager. A key set both directly
 * and through a secret is refused: which one wins would be a guess.
 */
export async function resolveSecrets(
  env: NodeJS.ProcessEnv,
  references: SecretReference[],
  read: SecretReader,
): Promise<NodeJS.ProcessEnv> {
  const resolved: NodeJS.ProcessEnv = { ...env };
  for (const reference of references) {
    if (env[reference.key] !== undefined) {
      throw new ConfigError(reference.key, "set in the environment or through FIREBRICK_SECRETS, not both");
    }
    resolved[reference.key] = (await read(reference)).trim();
  }
  return resolved;
}

/**
 * Re-raises a configuration error about a value that came from a secret without the value in it.
 */
export function withoutSecretValue(error: unknown, references: SecretReference[]): unknown {
  const reference =
    error instanceof ConfigError ? references.find((entry) => entry.key === error.key) : undefined;
  if (!reference || !(error instanceof ConfigError)) return error;
  return new ConfigError(reference.key, `${error.expected} (the value of ${secretName(reference)})`);
}
