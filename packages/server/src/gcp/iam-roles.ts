/**
 * Which permissions stand for each IAM role Firebrick can verify (the bootstrap's `required_roles`): for each
 * role, the permissions of Firebrick's own flows that the role grants. Verifying a role means
 * Resource Manager's `testIamPermissions` answers "held" for every one of them.
 *
 * Source of every row: Google Cloud's "IAM roles and permissions" reference, one page per service —
 * https://cloud.google.com/iam/docs/roles-permissions/firestore (the `roles/datastore.*` roles),
 * …/serviceusage, …/secretmanager, …/iam and …/resourcemanager. A row lists a subset of the role: the
 * permissions this product exercises (database, entity, index, backup-schedule, service, secret, service
 * account and policy calls), so that a role counts as held exactly when what Firebrick does with it works.
 * Basic roles (`roles/owner`, `roles/editor`) hold thousands of permissions and are not verifiable this
 * way; name the predefined roles instead.
 */
export const ROLE_PERMISSIONS: Readonly<Record<string, readonly string[]>> = {
  // Cloud Datastore Owner: full access to Datastore (Firestore) resources.
  "roles/datastore.owner": [
    "datastore.databases.create",
    "datastore.databases.get",
    "datastore.databases.getMetadata",
    "datastore.databases.list",
    "datastore.databases.update",
    "datastore.entities.create",
    "datastore.entities.delete",
    "datastore.entities.get",
    "datastore.entities.list",
    "datastore.entities.update",
    "datastore.indexes.create",
    "datastore.indexes.delete",
    "datastore.indexes.list",
    "datastore.indexes.update",
    "datastore.operations.get",
    "datastore.backupSchedules.create",
    "datastore.backupSchedules.delete",
    "datastore.backupSchedules.list",
    "datastore.backupSchedules.update",
  ],
  // Cloud Datastore User: read/write access to data in a database (the service's own identity).
  "roles/datastore.user": [
    "datastore.databases.get",
    "datastore.databases.getMetadata",
    "datastore.entities.create",
    "datastore.entities.delete",
    "datastore.entities.get",
    "datastore.entities.list",
    "datastore.entities.update",
    "datastore.indexes.list",
  ],
  // Cloud Datastore Viewer: read access to Datastore resources.
  "roles/datastore.viewer": [
    "datastore.databases.getMetadata",
    "datastore.entities.get",
    "datastore.entities.list",
    "datastore.indexes.list",
  ],
  // Cloud Datastore Index Admin: full access to index definitions (composite, single-field, TTL).
  "roles/datastore.indexAdmin": [
    "datastore.indexes.create",
    "datastore.indexes.delete",
    "datastore.indexes.get",
    "datastore.indexes.list",
    "datastore.indexes.update",
  ],
  // Cloud Datastore Backup Schedules Admin: manage backup schedules.
  "roles/datastore.backupSchedulesAdmin": [
    "datastore.backupSchedules.create",
    "datastore.backupSchedules.delete",
    "datastore.backupSchedules.get",
    "datastore.backupSchedules.list",
    "datastore.backupSchedules.update",
    "datastore.databases.getMetadata",
    "datastore.databases.list",
  ],
  // Service Usage Admin: enable, disable and inspect services.
  "roles/serviceusage.serviceUsageAdmin": [
    "serviceusage.services.disable",
    "serviceusage.services.enable",
    "serviceusage.services.get",
    "serviceusage.services.list",
  ],
  // Service Usage Consumer: inspect services and use them (quota and billing).
  "roles/serviceusage.serviceUsageConsumer": [
    "serviceusage.services.get",
    "serviceusage.services.list",
    "serviceusage.services.use",
  ],
  // Secret Manager Admin: full access to secrets, their versions and their policies.
  "roles/secretmanager.admin": [
    "secretmanager.secrets.create",
    "secretmanager.secrets.get",
    "secretmanager.secrets.getIamPolicy",
    "secretmanager.secrets.list",
    "secretmanager.secrets.setIamPolicy",
    "secretmanager.versions.access",
    "secretmanager.versions.add",
    "secretmanager.versions.list",
  ],
  // Secret Manager Secret Accessor: read secret payloads.
  "roles/secretmanager.secretAccessor": ["secretmanager.versions.access"],
  // Service Account Admin: create and manage service accounts.
  "roles/iam.serviceAccountAdmin": [
    "iam.serviceAccounts.create",
    "iam.serviceAccounts.delete",
    "iam.serviceAccounts.get",
    "iam.serviceAccounts.list",
    "iam.serviceAccounts.update",
  ],
  // Project IAM Admin: read and change the project's IAM policy.
  "roles/resourcemanager.projectIamAdmin": [
    "resourcemanager.projects.getIamPolicy",
    "resourcemanager.projects.setIamPolicy",
  ],
};

/** Whether Firebrick knows how to verify a role. */
export function isVerifiableRole(role: string): boolean {
  return Object.hasOwn(ROLE_PERMISSIONS, role);
}

/** The verifiable roles, for messages. */
export function verifiableRoles(): string[] {
  return Object.keys(ROLE_PERMISSIONS);
}

export interface RoleVerdict {
  role: string;
  /** The role's permissions the caller lacks; empty when the role counts as held. */
  missing: string[];
  tested: number;
}

/**
 * Checks each role with one `testIamPermissions` round (the union of the roles' permissions, in calls
 * of at most 100), then judges each role on its own permissions.
 *
 * @example
 * const verdicts = await verifyRoles(["roles/datastore.user"], (permissions) => controlPlane.testIamPermissions(permissions));
 */
export async function verifyRoles(
  roles: string[],
  testIamPermissions: (permissions: string[]) => Promise<string[]>,
): Promise<RoleVerdict[]> {
  const wanted = [...new Set(roles.flatMap((role) => ROLE_PERMISSIONS[role] ?? []))];
  const granted = new Set(wanted.length > 0 ? await testIamPermissions(wanted) : []);
  return roles.map((role) => {
    const permissions = ROLE_PERMISSIONS[role] ?? [];
    return {
      role,
      missing: permissions.filter((permission) => !granted.has(permission)),
      tested: permissions.length,
    };
  });
}

/** The command that grants `role` on the project to `member` (a placeholder when the caller is not known). */
export function grantCommand(projectId: string, role: string, member: string | undefined): string {
  return `gcloud projects add-iam-policy-binding ${projectId} --member=${member ?? "user:EMAIL"} --role=${role}`;
}
