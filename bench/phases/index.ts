// The phases of `npm run bench`, in the order they run. Adding one: a new file in this folder exporting a
// `Phase` (see lib/context.ts and bench/README.md, "Adding a phase"), and one line here.
import type { Phase } from "../lib/context.js";
import { alarmIngestPhase } from "./alarm-ingest.js";
import { billedReadsPhase } from "./billed-reads.js";
import { connectivityPhase } from "./connectivity.js";
import { fleetPhase } from "./fleet.js";
import { growthPhase } from "./growth.js";
import { ingestFirestorePhase } from "./ingest-firestore.js";
import { lockPhase } from "./lock.js";
import { loginFloodPhase } from "./login-flood.js";
import { sqliteIngestPhase } from "./sqlite-ingest.js";
import { sqliteRetentionPhase } from "./sqlite-retention.js";
import { startupPhase } from "./startup.js";
import { telemetryReadPhase } from "./telemetry-read.js";
import { trendsPhase } from "./trends.js";

export const PHASES: readonly Phase[] = [
  lockPhase,
  telemetryReadPhase,
  ingestFirestorePhase,
  alarmIngestPhase,
  billedReadsPhase,
  connectivityPhase,
  loginFloodPhase,
  sqliteIngestPhase,
  sqliteRetentionPhase,
  startupPhase,
  growthPhase,
  fleetPhase,
  trendsPhase,
];
