import type { pino } from "pino";

/**
 * Where the server's log lines go: pretty, coloured lines when stdout is a terminal (a person is
 * reading), one JSON object per line otherwise (a log collector is). The lines are the same either way:
 * `createLogger` has already applied the logging policy (redaction, masking) before this formats them.
 * pino-pretty is loaded only for a terminal.
 *
 * @example
 * const logger = createLogger(config.logLevel, await logDestination(), { debugSampleRate });
 */
export async function logDestination(
  stream: NodeJS.WriteStream = process.stdout,
): Promise<pino.DestinationStream | undefined> {
  if (!stream.isTTY) return undefined;
  const { default: pretty } = await import("pino-pretty");
  return pretty({
    destination: stream,
    colorize: true,
    translateTime: "SYS:HH:MM:ss.l",
    // Every line has them and a person at a terminal knows them already.
    ignore: "pid,hostname,service",
    sync: true,
  });
}
