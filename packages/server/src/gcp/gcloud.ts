import { execFile } from "node:child_process";
import {
  type ControlPlane,
  ControlPlaneError,
  type Database,
  DEFAULT_DATABASE,
  errorFromApiBody,
  type Field,
  type Index,
  type Operation,
} from "./control-plane.js";

export interface GcloudControlPlaneOptions {
  projectId: string;
  /** The `gcloud` executable; `gcloud` on the PATH by default. */
  gcloud?: string;
  /** The environment gcloud runs in (endpoint overrides, `CLOUDSDK_CONFIG`…); this process's by default. */
  env?: NodeJS.ProcessEnv;
}

/** Runs one gcloud command; resolves with its stdout, rejects with a classified `ControlPlaneError`. */
export type GcloudRunner = (args: string[]) => Promise<string>;

/**
 * The control plane through the `gcloud` CLI, as the seed does: every call is a `gcloud … --format=json`
 * command, and a failed command becomes a `ControlPlaneError` classified from gcloud's error line
 * (gcloud prints the API's canonical status, or the raw HTTP error body when it gave up retrying).
 *
 * @example
 * const controlPlane = createGcloudControlPlane({ projectId: "my-project" });
 */
export function createGcloudControlPlane(options: GcloudControlPlaneOptions): ControlPlane & {
  accessToken(): Promise<string>;
} {
  const { projectId } = options;
  const run = gcloudRunner(options);
  const json = async <T>(args: string[]): Promise<T> => {
    const stdout = await run([...args, `--project=${projectId}`, "--format=json"]);
    try {
      return JSON.parse(stdout || "null") as T;
    } catch (error) {
      throw new ControlPlaneError(
        "INTERNAL",
        `INTERNAL: gcloud ${args.slice(0, 3).join(" ")} printed non-JSON`,
        undefined,
        {
          cause: error,
        },
      );
    }
  };
  const fieldArgs = (collectionGroup: string) => [
    `--collection-group=${collectionGroup}`,
    `--database=${DEFAULT_DATABASE}`,
  ];

  return {
    kind: "gcloud",
    projectId,
    async getService(service) {
      const enabled = await json<{ config?: { name?: string } }[]>(["services", "list", "--enabled"]);
      return {
        name: service,
        state: enabled.some((entry) => entry.config?.name === service) ? "ENABLED" : "DISABLED",
      };
    },
    async enableService(service) {
      // `gcloud services enable` waits for its operation and prints nothing useful; it is done when it returns.
      await json(["services", "enable", service]);
      return { name: `operations/gcloud-services-enable-${service}`, done: true };
    },
    async getDatabase() {
      try {
        return await json<Database>(["firestore", "databases", "describe", `--database=${DEFAULT_DATABASE}`]);
      } catch (error) {
        if (error instanceof ControlPlaneError && error.status === "NOT_FOUND") return null;
        throw error;
      }
    },
    createDatabase(locationId) {
      // Returns the long-running operation without waiting for it.
      return json<Operation>([
        "firestore",
        "databases",
        "create",
        `--database=${DEFAULT_DATABASE}`,
        `--location=${locationId}`,
        "--type=firestore-native",
      ]);
    },
    getOperation(name) {
      if (name.startsWith("operations/gcloud-services-enable-")) return Promise.resolve({ name, done: true });
      return json<Operation>(
        name.startsWith("operations/")
          ? ["services", "operations", "describe", name]
          : ["firestore", "operations", "describe", name, `--database=${DEFAULT_DATABASE}`],
      );
    },
    async listIndexes() {
      return (
        (await json<Index[] | null>([
          "firestore",
          "indexes",
          "composite",
          "list",
          `--database=${DEFAULT_DATABASE}`,
        ])) ?? []
      );
    },
    async createIndex(collectionGroup, index) {
      // With --async gcloud prints the operation's metadata, not the operation.
      const metadata = await json<Record<string, unknown>>([
        "firestore",
        "indexes",
        "composite",
        "create",
        ...fieldArgs(collectionGroup),
        `--query-scope=${index.queryScope === "COLLECTION_GROUP" ? "collection-group" : "collection"}`,
        ...index.fields.map((field) =>
          field.arrayConfig
            ? `--field-config=field-path=${field.fieldPath},array-config=contains`
            : `--field-config=field-path=${field.fieldPath},order=${(field.order ?? "ASCENDING").toLowerCase()}`,
        ),
        "--async",
      ]);
      return { name: "", done: false, metadata: metadata ?? {} };
    },
    getField(collectionGroup, fieldPath) {
      return json<Field>([
        "firestore",
        "indexes",
        "fields",
        "describe",
        fieldPath,
        ...fieldArgs(collectionGroup),
      ]);
    },
    async setFieldIndexes(collectionGroup, fieldPath, indexes) {
      // gcloud sets collection-scoped single-field indexes only (its --index takes order/array-config).
      if (indexes.some((index) => index.queryScope !== "COLLECTION")) {
        throw new ControlPlaneError(
          "INVALID_ARGUMENT",
          `INVALID_ARGUMENT: gcloud cannot set collection-group single-field indexes (${collectionGroup}.${fieldPath}); use the REST control plane`,
          undefined,
          { transient: false },
        );
      }
      const kinds = indexes.map((index) =>
        index.arrayConfig ? "array-config=contains" : `order=${(index.order ?? "ASCENDING").toLowerCase()}`,
      );
      return json<Operation>([
        "firestore",
        "indexes",
        "fields",
        "update",
        fieldPath,
        ...fieldArgs(collectionGroup),
        ...(kinds.length === 0 ? ["--disable-indexes"] : kinds.map((kind) => `--index=${kind}`)),
        "--async",
      ]);
    },
    enableTtl(collectionGroup, fieldPath) {
      return json<Operation>([
        "firestore",
        "fields",
        "ttls",
        "update",
        fieldPath,
        ...fieldArgs(collectionGroup),
        "--enable-ttl",
        "--async",
      ]);
    },
    async defaultRegion() {
      const region = (await run(["config", "get-value", "compute/region"])).trim();
      return region && region !== "(unset)" ? region : undefined;
    },
    async accessToken() {
      return (await run(["auth", "print-access-token"])).trim();
    },
  };
}

/** Runs gcloud non-interactively and classifies its failures. */
export function gcloudRunner(options: Pick<GcloudControlPlaneOptions, "gcloud" | "env">): GcloudRunner {
  const executable = options.gcloud ?? "gcloud";
  const env = { ...(options.env ?? process.env), CLOUDSDK_CORE_DISABLE_PROMPTS: "1" };
  return (args) =>
    new Promise((resolve, reject) => {
      execFile(
        executable,
        [...args, "--quiet"],
        { env, maxBuffer: 64 * 1024 * 1024, timeout: 300_000 },
        (error, stdout, stderr) => {
          if (!error) return resolve(stdout);
          if ((error as NodeJS.ErrnoException).code === "ENOENT") {
            return reject(
              new ControlPlaneError(
                "FAILED_PRECONDITION",
                `FAILED_PRECONDITION: '${executable}' is not installed`,
                undefined,
                {
                  transient: false,
                },
              ),
            );
          }
          reject(classifyGcloudFailure(stderr, args));
        },
      );
    });
}

const CANONICAL =
  /\b(NOT_FOUND|ALREADY_EXISTS|PERMISSION_DENIED|INVALID_ARGUMENT|FAILED_PRECONDITION|RESOURCE_EXHAUSTED|UNAVAILABLE|DEADLINE_EXCEEDED|INTERNAL|ABORTED|UNAUTHENTICATED|OUT_OF_RANGE|UNIMPLEMENTED|CANCELLED)\b/;

/**
 * Turns gcloud's stderr into a `ControlPlaneError`. gcloud prints either `ERROR: (gcloud.x) STATUS: msg`
 * or, after its own retries of a 429/5xx, `HttpError accessing <url>: response: <…>, content <{json}>`.
 */
export function classifyGcloudFailure(stderr: string, args: string[] = []): ControlPlaneError {
  const errorLine =
    stderr
      .split("\n")
      .find((line) => line.startsWith("ERROR:"))
      ?.replace(/^ERROR: \([^)]*\) /, "")
      .replace(/\.? ?This command is authenticated with .*$/, "") ??
    stderr.trim().split("\n").at(-1) ??
    "";
  const command = `gcloud ${args.filter((arg) => !arg.startsWith("-")).join(" ")}`;
  const content = stderr.match(/content <(\{.*\})>/s);
  if (content) {
    const httpStatus = Number(stderr.match(/'status': '?(\d{3})/)?.[1] ?? 0);
    try {
      const apiError = errorFromApiBody(httpStatus, JSON.parse(content[1]!));
      return new ControlPlaneError(
        apiError.status,
        `${command}: ${apiError.message}`,
        httpStatus || undefined,
      );
    } catch {
      // Not JSON after all; fall through to the error line.
    }
  }
  if (/Projects instance \[[^\]]*\] not found/.test(errorLine)) {
    return new ControlPlaneError("NOT_FOUND", `${command}: NOT_FOUND: ${errorLine}`);
  }
  const status = errorLine.match(CANONICAL)?.[1];
  if (status) return new ControlPlaneError(status, `${command}: ${errorLine}`);
  // gcloud could not reach the API at all (its own retries exhausted): a network failure, transient.
  const unreachable =
    /network connectivity|connection (refused|reset|aborted)|timed out|unable to find the server/i.test(
      stderr,
    );
  return new ControlPlaneError(
    unreachable ? "UNAVAILABLE" : "UNKNOWN",
    `${command}: ${errorLine || "failed"}`,
    undefined,
    {
      transient: unreachable,
    },
  );
}
