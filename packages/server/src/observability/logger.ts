import { type Logger, pino } from "pino";
import type { LogLevel } from "../config/env.js";

// Secrets must never reach a log line, whatever the caller passes in (SPEC.md §7).
const REDACT = [
  "req.headers.cookie",
  "req.headers.authorization",
  'res.headers["set-cookie"]',
  "*.password",
  "*.password_hash",
  "*.token",
  "*.token_hash",
];

/** The process-wide structured JSON logger. */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  const options = { level, base: { service: "firebrick" }, redact: { paths: REDACT, censor: "[redacted]" } };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
