import { SingleBar } from "cli-progress";
import { type Progress, silentProgress } from "../migrate/job.js";

export interface ProgressOptions {
  /** What runs, e.g. "backfill telemetry". */
  label: string;
  /** What is counted, plural, e.g. "points". */
  unit: string;
  /** Where it goes: stderr, so that stdout keeps only the report. */
  stream?: NodeJS.WriteStream;
  /** Without a terminal, print nothing at all (`--json`: whoever reads stdout wants no chatter either). */
  quietWithoutTerminal?: boolean;
  /** Without a terminal, one line this often (ms). */
  intervalMs?: number;
}

/**
 * The one progress display of every long CLI job: on a terminal a bar with counts, rate and ETA; otherwise
 * (CI, pipes, logs) a plain line at the start, every `intervalMs` and at the end, so that a job that waits
 * on a write budget is never silent for long.
 *
 * @example
 * const progress = jobProgress({ label: "backfill telemetry", unit: "points" });
 * progress.start(6720); progress.advance(500); progress.stop();
 */
export function jobProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  if (stream.isTTY) return terminalBar(options, stream);
  if (options.quietWithoutTerminal) return silentProgress;
  return plainLines(options, stream);
}

/** 6720 → "6,720": reports and progress lines are read by people. */
export const formatCount = (n: number): string => n.toLocaleString("en-US");

function terminalBar({ label, unit }: ProgressOptions, stream: NodeJS.WriteStream): Progress {
  let bar: SingleBar | undefined;
  const started = Date.now();
  let first = 0;
  let value = 0;
  const rate = () =>
    formatCount(Math.round((value - first) / Math.max(0.001, (Date.now() - started) / 1000)));
  return {
    start(total, done = 0) {
      first = done;
      value = done;
      const known = total !== undefined;
      bar = new SingleBar({
        stream,
        format: known
          ? `${label} [{bar}] {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`
          : `${label} {value} ${unit} | {rate} ${unit}/s`,
        formatValue: (v, _options, type) =>
          type === "value" || type === "total" ? formatCount(v) : String(v),
        barCompleteChar: "█",
        barIncompleteChar: "░",
        hideCursor: true,
        etaBuffer: 50,
      });
      bar.start(total ?? 0, done, { rate: "0" });
    },
    advance(units) {
      value += units;
      if (!bar) return;
      if (bar.getTotal() < value) bar.setTotal(value);
      bar.update(value, { rate: rate() });
    },
    stop() {
      bar?.stop();
    },
  };
}

function plainLines(
  { label, unit, intervalMs = 5_000 }: ProgressOptions,
  stream: NodeJS.WriteStream,
): Progress {
  let started = Date.now();
  let first = 0;
  let value = 0;
  let total: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  const print = (line: string) => stream.write(`${label}: ${line}\n`);
  const perSecond = () => (value - first) / Math.max(0.001, (Date.now() - started) / 1000);
  const line = () => {
    const rate = perSecond();
    const counted = total === undefined ? formatCount(value) : `${formatCount(value)}/${formatCount(total)}`;
    const percent = total ? ` (${Math.floor((100 * value) / total)}%)` : "";
    const left = total === undefined ? 0 : total - value;
    const eta = total !== undefined && rate > 0 ? `, ETA ${duration(left / rate)}` : "";
    return `${counted} ${unit}${percent}, ${formatCount(Math.round(rate))} ${unit}/s${eta}`;
  };
  return {
    start(expected, done = 0) {
      total = expected;
      first = done;
      value = done;
      started = Date.now();
      print(expected === undefined ? "started" : `started, ${formatCount(expected)} ${unit} to go`);
      timer = setInterval(() => print(line()), intervalMs);
      timer.unref();
    },
    advance(units) {
      value += units;
    },
    stop() {
      clearInterval(timer);
      print(`${line()}, in ${duration((Date.now() - started) / 1000)}`);
    },
  };
}

/** Seconds as a short duration: "8s", "3m 20s", "1h 05m". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
