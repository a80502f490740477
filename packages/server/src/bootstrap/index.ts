export {
  BOOTSTRAP_SCHEMA_VERSION,
  type BootstrapConfig,
  DEFAULT_BOOTSTRAP_CONFIG,
  loadBootstrapConfig,
  parseBootstrapConfig,
} from "./config.js";
export { bootstrapDocumentCheck, reconcileBootstrapDocument } from "./document.js";
export { BootstrapFailedError, emulatorBootstrap } from "./emulator.js";
export { type Drift, findIndexDrift, pruneIndexDrift } from "./index-drift.js";
export {
  deployIndexes,
  enableTtl,
  indexesStatus,
  loadIndexDefinitions,
  telemetryIndexReady,
  ttlStatus,
} from "./indexes.js";
export { bootstrapReportJson, formatBootstrapReport } from "./report.js";
export { type BootstrapReport, type CheckResult, runBootstrap } from "./run.js";
