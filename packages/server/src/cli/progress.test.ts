import { Writable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { duration, jobProgress } from "./progress.js";

/** A stream that collects what is written, a terminal or not. */
function captured(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY, columns: 120, cursorTo() {}, clearLine() {}, moveCursor() {} });
  return { stream, text: () => chunks.join("") };
}

describe("job progress without a terminal", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("prints a start line, a line with count, rate and ETA every interval, and a closing line", () => {
    vi.useFakeTimers({ now: 0 });
    const { stream, text } = captured(false);
    const progress = jobProgress({
      label: "backfill-telemetry-7d",
      unit: "points",
      stream,
      intervalMs: 5000,
    });
    progress.start(6720);
    progress.advance(1000);
    vi.advanceTimersByTime(5000);
    progress.advance(2360);
    vi.advanceTimersByTime(5000);
    progress.advance(3360);
    vi.advanceTimersByTime(2000);
    progress.stop();
    expect(text().split("\n")).toEqual([
      "backfill-telemetry-7d: started, 6,720 points to go",
      "backfill-telemetry-7d: 1,000/6,720 points (14%), 200 points/s, ETA 29s",
      "backfill-telemetry-7d: 3,360/6,720 points (50%), 336 points/s, ETA 10s",
      "backfill-telemetry-7d: 6,720/6,720 points (100%), 560 points/s, ETA 0s, in 12s",
      "",
    ]);
  });

  it("counts a resumed run's earlier work in the total but not in this run's rate", () => {
    vi.useFakeTimers({ now: 0 });
    const { stream, text } = captured(false);
    const progress = jobProgress({ label: "migrate-users", unit: "records", stream, intervalMs: 1000 });
    progress.start(300, 200);
    progress.advance(50);
    vi.advanceTimersByTime(1000);
    progress.stop();
    expect(text()).toContain("migrate-users: 250/300 records (83%), 50 records/s, ETA 1s\n");
  });

  it("without a known total prints counts and rate, no ETA", () => {
    vi.useFakeTimers({ now: 0 });
    const { stream, text } = captured(false);
    const progress = jobProgress({ label: "job", unit: "rows", stream, intervalMs: 1000 });
    progress.start();
    progress.advance(10);
    vi.advanceTimersByTime(1000);
    progress.stop();
    expect(text()).toBe("job: started\njob: 10 rows, 10 rows/s\njob: 10 rows, 10 rows/s, in 1s\n");
  });

  it("prints nothing when asked to be quiet without a terminal (--json)", () => {
    const { stream, text } = captured(false);
    const progress = jobProgress({ label: "job", unit: "rows", stream, quietWithoutTerminal: true });
    progress.start(10);
    progress.advance(10);
    progress.stop();
    expect(text()).toBe("");
  });
});

describe("job progress on a terminal", () => {
  it("draws a bar with counts, rate and ETA, even with --json (the report goes to stdout)", () => {
    const { stream, text } = captured(true);
    const progress = jobProgress({
      label: "migrate-users",
      unit: "records",
      stream,
      quietWithoutTerminal: true,
    });
    progress.start(1200);
    progress.advance(600);
    progress.stop();
    expect(text()).toMatch(/migrate-users \[░+\] 0\/1,200 records \| 0 records\/s \| ETA/);
    expect(text()).toMatch(/migrate-users \[█+░+\] 600\/1,200 records \| [\d,]+ records\/s \| ETA \d+s/);
  });
});

describe("durations", () => {
  it("reads as seconds, minutes or hours", () => {
    expect([duration(8.4), duration(200), duration(3900)]).toEqual(["8s", "3m 20s", "1h 05m"]);
  });
});
