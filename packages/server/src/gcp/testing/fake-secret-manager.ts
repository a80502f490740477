import { setPolicy } from "./fake-iam.js";
import { requireService } from "./fake-service-usage.js";
import { etag, type FakeApi, type FakeSecret, HttpFailure, now } from "./fake-state.js";

/** Secret Manager v1: secrets, versions (add, list, access), and each secret's IAM policy. */

const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;

export const secretManager: FakeApi = (context, { method, path, query, body }) => {
  const match = path.match(/^\/v1\/projects\/([^/:]+)\/secrets(?:\/([^/:]+)(.*))?$/);
  if (!match) return undefined;
  const [, projectId, secretId, sub = ""] = match as unknown as [string, string, string | undefined, string];
  const project = context.project(projectId);
  requireService(project, "secretmanager.googleapis.com");
  if (secretId === undefined) {
    if (method !== "POST") return undefined;
    const id = query.get("secretId") ?? "";
    if (!SECRET_ID.test(id)) throw new HttpFailure(400, `Invalid secret id ${JSON.stringify(id)}.`);
    const name = `projects/${project.projectNumber}/secrets/${id}`;
    if (project.secrets.has(id)) throw new HttpFailure(409, `Secret [${name}] already exists.`);
    const replication = (body as { replication?: Record<string, unknown> } | undefined)?.replication;
    if (!replication) throw new HttpFailure(400, "replication is required.");
    const secret: FakeSecret = {
      name,
      createTime: now(),
      replication,
      versions: [],
      policy: { version: 1, etag: etag(), bindings: [] },
    };
    project.secrets.set(id, secret);
    return describe(secret);
  }
  const secret = project.secrets.get(secretId);
  const name = `projects/${project.projectNumber}/secrets/${secretId}`;
  if (!secret) throw new HttpFailure(404, `Secret [${name}] not found or has no versions.`);
  if (sub === "" && method === "GET") return describe(secret);
  if (sub === ":getIamPolicy" && method === "GET") return secret.policy;
  if (sub === ":setIamPolicy" && method === "POST") {
    secret.policy = setPolicy(context, secret.policy, body);
    return secret.policy;
  }
  if (sub === ":addVersion" && method === "POST") {
    const payload = (body as { payload?: { data?: unknown; dataCrc32c?: unknown } } | undefined)?.payload;
    const data = payload?.data;
    if (typeof data !== "string" || !/^[A-Za-z0-9+/=_-]*$/.test(data)) {
      throw new HttpFailure(400, "payload.data must be base64.");
    }
    // A client-given checksum (gcloud sends one) is kept and acknowledged: gcloud refuses a version whose
    // answer does not say the checksum was taken into account.
    const checksum = typeof payload?.dataCrc32c === "string" ? payload.dataCrc32c : undefined;
    const version = {
      name: `${name}/versions/${secret.versions.length + 1}`,
      state: "ENABLED" as const,
      createTime: now(),
      data,
      ...(checksum && { checksum }),
    };
    secret.versions.push(version);
    return { ...versionResource(version), ...(checksum && { clientSpecifiedPayloadChecksum: true }) };
  }
  if (sub === "/versions" && method === "GET") {
    const enabledOnly = (query.get("filter") ?? "").includes("state:ENABLED");
    const versions = secret.versions
      .filter((version) => !enabledOnly || version.state === "ENABLED")
      .reverse()
      .map(versionResource);
    return versions.length > 0 ? { versions, totalSize: versions.length } : {};
  }
  const access = sub.match(/^\/versions\/([^/:]+):access$/);
  if (access && method === "GET") {
    const version =
      access[1] === "latest"
        ? secret.versions.filter((candidate) => candidate.state !== "DESTROYED").at(-1)
        : secret.versions[Number(access[1]) - 1];
    if (!version) throw new HttpFailure(404, `Secret Version [${name}/versions/${access[1]}] not found.`);
    if (version.state !== "ENABLED") {
      throw new HttpFailure(
        400,
        `Secret Version [${version.name}] is in ${version.state} state.`,
        "FAILED_PRECONDITION",
      );
    }
    return {
      name: version.name,
      payload: { data: version.data, ...(version.checksum && { dataCrc32c: version.checksum }) },
    };
  }
  return undefined;
};

function describe(secret: FakeSecret) {
  return {
    name: secret.name,
    replication: secret.replication,
    createTime: secret.createTime,
    etag: `"${etag()}"`,
  };
}

function versionResource(version: FakeSecret["versions"][number]) {
  return {
    name: version.name,
    createTime: version.createTime,
    state: version.state,
    replicationStatus: { automatic: {} },
    etag: `"${etag()}"`,
  };
}
