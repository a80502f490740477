import { type Config, type ConfigOverrides, loadConfig, processEnvironment } from "../config/env.js";
import { resolveSecrets, type SecretReader, secretName, withoutSecretValue } from "../config/secrets.js";
import { ControlPlaneError, DEFAULT_DATABASE } from "../gcp/control-plane.js";
import { DEFAULT_RETRY_POLICY, realSleep, retryControlPlaneCall } from "../gcp/control-plane-retry.js";

/** A secret named in `FIREBRICK_SECRETS` could not be read: the service does not start. Exit status 1. */
export class SecretUnavailableError extends Error {
  override name = "SecretUnavailableError";
}

/**
 * The configuration a process starts with: `loadConfig`, plus — when `FIREBRICK_SECRETS` says so — the
 * values read once from Secret Manager before the configuration is final (the REST API, with gcloud's
 * endpoint and token overrides when set, Application Default Credentials otherwise). A secret's value is
 * never logged nor echoed in an error.
 *
 * @example
 * const config = await loadStartupConfig(undefined, { port: "9090" });
 */
export async function loadStartupConfig(
  env: NodeJS.ProcessEnv = processEnvironment(),
  overrides: ConfigOverrides = {},
  readSecret?: SecretReader,
): Promise<Config> {
  const initial = loadConfig(env, overrides);
  if (initial.secrets.length === 0) return initial;
  const read: SecretReader =
    readSecret ??
    (async (reference) => {
      // Loaded only when a secret is to be read: the control plane's module loads the GCP clients.
      const { createControlPlane } = await import("../gcp/select.js");
      const controlPlane = createControlPlane(
        "rest",
        { projectId: reference.projectId, databaseId: DEFAULT_DATABASE },
        initial.gcp,
      )!;
      try {
        const value = await retryControlPlaneCall(
          () => controlPlane.accessSecretVersion(reference.secretId, reference.version),
          DEFAULT_RETRY_POLICY,
          realSleep,
        );
        return value.toString("utf8");
      } catch (error) {
        if (!(error instanceof ControlPlaneError)) throw error;
        throw new SecretUnavailableError(
          `reading ${reference.key} from ${secretName(reference)} (FIREBRICK_SECRETS) failed: ${error.message}`,
          { cause: error },
        );
      }
    });
  const resolved = await resolveSecrets(env, initial.secrets, read);
  try {
    return loadConfig(resolved, overrides);
  } catch (error) {
    throw withoutSecretValue(error, initial.secrets);
  }
}
