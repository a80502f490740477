import { type ControlPlane, ControlPlaneError, MUTATING_METHODS } from "./control-plane.js";

/**
 * The same control plane with every mutating call refused, so that preflight, `env plan` (and the live
 * tests) cannot change a project even through a bug in the flow.
 *
 * @example
 * const report = await runBootstrap({ ...options, controlPlane: readOnlyControlPlane(controlPlane) });
 */
export function readOnlyControlPlane(controlPlane: ControlPlane): ControlPlane {
  const refused = Object.fromEntries(
    MUTATING_METHODS.map((method) => [
      method,
      () =>
        Promise.reject(
          new ControlPlaneError(
            "FAILED_PRECONDITION",
            `FAILED_PRECONDITION: ${method} refused: read-only (preflight)`,
            undefined,
            { transient: false },
          ),
        ),
    ]),
  );
  return Object.assign(Object.create(controlPlane) as ControlPlane, refused, {
    kind: controlPlane.kind,
    projectId: controlPlane.projectId,
    databaseId: controlPlane.databaseId,
  });
}
