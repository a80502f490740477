import { type FakeApi, type FakeContext, type FakeProject, HttpFailure, id, route } from "./fake-state.js";

/** Service Usage v1: services get/list, `:enable`, `:batchEnable` (gcloud's), and their operations. */

const KNOWN_SERVICES: Record<string, string> = {
  "firestore.googleapis.com": "Cloud Firestore API",
  "secretmanager.googleapis.com": "Secret Manager API",
  "monitoring.googleapis.com": "Cloud Monitoring API",
  "iam.googleapis.com": "Identity and Access Management (IAM) API",
  "cloudresourcemanager.googleapis.com": "Cloud Resource Manager API",
  "serviceusage.googleapis.com": "Service Usage API",
};

export const serviceUsage: FakeApi = (context, { method, path, query, body }) => {
  const operation = route(path, method, "GET", /^\/v1\/(operations\/.+)$/);
  if (operation) return context.pollOperation(operation[0]!);
  const list = route(path, method, "GET", /^\/v1\/projects\/([^/:]+)\/services$/);
  if (list) {
    const project = context.project(list[0]!);
    const filter = query.get("filter") ?? "";
    const services = Object.keys(KNOWN_SERVICES)
      .filter((service) => (filter === "state:ENABLED" ? project.services.has(service) : true))
      .map((service) => serviceResource(project, service));
    return { services };
  }
  const get = route(path, method, "GET", /^\/v1\/projects\/([^/:]+)\/services\/([^/:]+)$/);
  if (get) return serviceResource(context.project(get[0]!), known(get[1]!));
  const enable = route(path, method, "POST", /^\/v1\/projects\/([^/:]+)\/services\/([^/:]+):enable$/);
  if (enable) return enableServices(context, context.project(enable[0]!), [known(enable[1]!)], false);
  const batch = route(path, method, "POST", /^\/v1\/projects\/([^/:]+)\/services:batchEnable$/);
  if (batch) {
    const ids = (body as { serviceIds?: unknown } | undefined)?.serviceIds;
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > 20) {
      throw new HttpFailure(400, "serviceIds must list 1 to 20 services.");
    }
    return enableServices(context, context.project(batch[0]!), ids.map(String).map(known), true);
  }
  return undefined;
};

function known(service: string): string {
  if (!(service in KNOWN_SERVICES)) {
    throw new HttpFailure(403, `Not found or permission denied for service(s): ${service}.`);
  }
  return service;
}

function enableServices(context: FakeContext, project: FakeProject, services: string[], batch: boolean) {
  return context.startOperation(`operations/acat.p2-${project.projectNumber}-${id()}`, 1, {}, () => {
    for (const service of services) project.services.add(service);
    const resources = services.map((service) => serviceResource(project, service));
    return batch
      ? {
          "@type": "type.googleapis.com/google.api.serviceusage.v1.BatchEnableServicesResponse",
          services: resources,
        }
      : {
          "@type": "type.googleapis.com/google.api.serviceusage.v1.EnableServiceResponse",
          service: resources[0],
        };
  });
}

function serviceResource(project: FakeProject, service: string) {
  return {
    name: `projects/${project.projectNumber}/services/${service}`,
    config: { name: service, title: KNOWN_SERVICES[service] },
    state: project.services.has(service) ? "ENABLED" : "DISABLED",
    parent: `projects/${project.projectNumber}`,
  };
}

/** The 403 every API answers while it is disabled in the project. */
export function requireService(project: FakeProject, service: string): void {
  if (!project.services.has(service)) {
    throw new HttpFailure(
      403,
      `${KNOWN_SERVICES[service] ?? service} has not been used in project ${project.projectNumber} before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/${service}/overview?project=${project.projectNumber} then retry.`,
    );
  }
}
