import type { IamPolicy, ServiceAccount } from "../control-plane.js";
import { requireService } from "./fake-service-usage.js";
import { etag, type FakeApi, type FakeContext, HttpFailure, route } from "./fake-state.js";

/** IAM v1 service accounts, and Resource Manager v1 project policies and `testIamPermissions`. */

const ACCOUNT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
// Resource Manager refuses to test more than 100 permissions in one call.
const MAX_TESTED_PERMISSIONS = 100;

export const iam: FakeApi = (context, { method, path, body }) => {
  // gcloud reads an account through `projects/-/`: an e-mail names its project.
  const get = route(path, method, "GET", /^\/v1\/projects\/([^/:]+)\/serviceAccounts\/([^/:]+)$/);
  if (get) {
    const email = get[1]!;
    const projectId = email.match(/@([^.]+)\.iam\.gserviceaccount\.com$/)?.[1] ?? get[0]!;
    const project = context.project(projectId);
    requireService(project, "iam.googleapis.com");
    const account = project.serviceAccounts.get(email);
    if (!account) throw new HttpFailure(404, `Unknown service account ${email}.`);
    return account;
  }
  const create = route(path, method, "POST", /^\/v1\/projects\/([^/:]+)\/serviceAccounts$/);
  if (create) {
    const project = context.project(create[0]!);
    requireService(project, "iam.googleapis.com");
    const request = (body ?? {}) as { accountId?: string; serviceAccount?: { displayName?: string } };
    if (!request.accountId || !ACCOUNT_ID.test(request.accountId)) {
      throw new HttpFailure(400, `Invalid account id ${JSON.stringify(request.accountId)}.`);
    }
    const email = `${request.accountId}@${project.projectId}.iam.gserviceaccount.com`;
    if (project.serviceAccounts.has(email)) {
      throw new HttpFailure(
        409,
        `Service account ${request.accountId} already exists within project projects/${project.projectId}.`,
      );
    }
    const uniqueId = String(100_000_000_000_000_000_000n + BigInt(project.serviceAccounts.size));
    const account: ServiceAccount = {
      name: `projects/${project.projectId}/serviceAccounts/${email}`,
      projectId: project.projectId,
      uniqueId,
      email,
      ...(request.serviceAccount?.displayName && { displayName: request.serviceAccount.displayName }),
    };
    project.serviceAccounts.set(email, account);
    if (context.serviceAccountPropagation > 0)
      project.unpropagatedAccounts.set(email, context.serviceAccountPropagation);
    return { ...account, etag: "MDEwMjE5MjA=", oauth2ClientId: uniqueId };
  }
  return undefined;
};

export const resourceManager: FakeApi = (context, { method, path, body }) => {
  const match = route(
    path,
    method,
    "POST",
    /^\/v1\/projects\/([^/:]+):(getIamPolicy|setIamPolicy|testIamPermissions)$/,
  );
  if (!match) return undefined;
  const project = context.project(match[0]!);
  if (match[1] === "getIamPolicy") return project.policy;
  if (match[1] === "setIamPolicy") {
    project.policy = setPolicy(context, project.policy, body);
    return project.policy;
  }
  const permissions = (body as { permissions?: unknown } | undefined)?.permissions;
  if (!Array.isArray(permissions) || permissions.length > MAX_TESTED_PERMISSIONS) {
    throw new HttpFailure(400, `permissions must list at most ${MAX_TESTED_PERMISSIONS} permissions.`);
  }
  const granted = permissions.map(String).filter((permission) => !project.deniedPermissions.has(permission));
  // Like the API, an empty answer leaves the repeated field out.
  return granted.length > 0 ? { permissions: granted } : {};
};

/**
 * A `setIamPolicy`: refused (409 ABORTED) when the etag is stale, as Resource Manager and Secret Manager
 * do, and refused (400) for a service account that does not exist.
 */
export function setPolicy(context: FakeContext, current: IamPolicy, body: unknown): IamPolicy {
  const policy = (body as { policy?: IamPolicy } | undefined)?.policy;
  if (!policy) throw new HttpFailure(400, "policy is required.");
  // Etags are bytes: gcloud echoes them re-encoded (URL-safe base64), so compare what they decode to.
  if (
    policy.etag !== undefined &&
    !Buffer.from(policy.etag, "base64").equals(Buffer.from(current.etag ?? "", "base64"))
  ) {
    throw new HttpFailure(
      409,
      "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.",
      "ABORTED",
    );
  }
  for (const member of (policy.bindings ?? []).flatMap((binding) => binding.members)) {
    const email = member.match(/^serviceAccount:(.+@([^.]+)\.iam\.gserviceaccount\.com)$/);
    if (!email) continue;
    const owner = context.project(email[2]!);
    const refusals = owner.unpropagatedAccounts.get(email[1]!) ?? 0;
    if (refusals > 0) owner.unpropagatedAccounts.set(email[1]!, refusals - 1);
    if (!owner.serviceAccounts.has(email[1]!) || refusals > 0) {
      throw new HttpFailure(400, `Service account ${email[1]} does not exist.`);
    }
  }
  return { version: policy.version ?? 1, etag: etag(), bindings: structuredClone(policy.bindings ?? []) };
}
