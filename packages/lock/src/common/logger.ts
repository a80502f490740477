import type { LockLogger } from "./types.js";

/** The default logger writes to stderr through `console.warn`; pass your own to route it elsewhere. */
export const consoleLockLogger: LockLogger = {
  warn(message, details) {
    console.warn(`[@firebrick/lock] ${message}`, details ?? "");
  },
};
