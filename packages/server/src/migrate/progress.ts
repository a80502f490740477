import { SingleBar } from "cli-progress";
import type { Progress } from "./job.js";

/**
 * A progress bar with rate and ETA on stderr when it is a terminal; silent otherwise (CI, pipes,
 * `--json`), where the final report says it all.
 */
export function terminalProgress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { start() {}, advance() {}, stop() {} };
  const bar = new SingleBar({
    stream,
    format: `${label} [{bar}] {value}/{total} rows | {rate}/s | ETA {eta_formatted}`,
    barCompleteChar: "█",
    barIncompleteChar: "░",
    hideCursor: true,
    etaBuffer: 50,
  });
  const started = Date.now();
  let value = 0;
  return {
    start(total) {
      bar.start(total ?? 0, 0, { rate: "0" });
    },
    advance(read) {
      value += read;
      const seconds = Math.max(0.001, (Date.now() - started) / 1000);
      if (bar.getTotal() < value) bar.setTotal(value);
      bar.update(value, { rate: Math.round(value / seconds).toString() });
    },
    stop() {
      bar.stop();
    },
  };
}
