import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { createMetrics } from "./metrics.js";

const MONITORING = fileURLToPath(new URL("../../../../infra/monitoring/", import.meta.url));
const POLICIES = join(MONITORING, "alert-policies");

// The parts of the Cloud Monitoring AlertPolicy resource these files use; strict, so that a misspelt
// field fails here rather than being dropped by the API.
const duration = z.string().regex(/^\d+s$/);
const ThresholdCondition = z.strictObject({
  filter: z.string().includes("metric.type = "),
  aggregations: z
    .array(
      z.strictObject({
        alignmentPeriod: duration,
        perSeriesAligner: z.enum(["ALIGN_SUM", "ALIGN_MEAN", "ALIGN_MAX", "ALIGN_RATE", "ALIGN_DELTA"]),
        crossSeriesReducer: z.enum(["REDUCE_SUM", "REDUCE_MAX", "REDUCE_MEAN"]),
        groupByFields: z.array(z.string()).optional(),
      }),
    )
    .min(1),
  comparison: z.enum(["COMPARISON_GT", "COMPARISON_LT"]),
  thresholdValue: z.number(),
  duration,
  trigger: z.strictObject({ count: z.number().int().positive() }),
});
const PromqlCondition = z.strictObject({
  query: z.string().min(1),
  duration,
  evaluationInterval: duration,
  alertRule: z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/),
  ruleGroup: z.string().min(1),
});
const AlertPolicy = z.strictObject({
  displayName: z.string().startsWith("Firebrick: "),
  documentation: z.strictObject({ content: z.string().min(80), mimeType: z.literal("text/markdown") }),
  userLabels: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/), z.string()),
  combiner: z.enum(["OR", "AND"]),
  severity: z.enum(["CRITICAL", "ERROR", "WARNING"]),
  conditions: z
    .array(
      z.union([
        z.strictObject({ displayName: z.string(), conditionThreshold: ThresholdCondition }),
        z.strictObject({ displayName: z.string(), conditionPrometheusQueryLanguage: PromqlCondition }),
      ]),
    )
    .min(1),
  alertStrategy: z.strictObject({ autoClose: duration }),
  notificationChannels: z.array(z.string()),
});
type AlertPolicy = z.infer<typeof AlertPolicy>;

const PrometheusRules = z.strictObject({
  groups: z.array(
    z.strictObject({
      name: z.string(),
      rules: z.array(
        z.strictObject({
          alert: z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/),
          expr: z.string().min(1),
          for: z.string().regex(/^\d+[smhd]$/),
          labels: z.object({ severity: z.enum(["critical", "error", "warning"]) }).catchall(z.string()),
          annotations: z.object({ summary: z.string().min(1) }).catchall(z.string()),
        }),
      ),
    }),
  ),
});

function loadPolicies(): Map<string, AlertPolicy> {
  const files = readdirSync(POLICIES).filter((file) => file.endsWith(".json"));
  return new Map(
    files.map((file) => [file, AlertPolicy.parse(JSON.parse(readFileSync(join(POLICIES, file), "utf8")))]),
  );
}

function loadRules() {
  return PrometheusRules.parse(parseYaml(readFileSync(join(MONITORING, "prometheus-rules.yml"), "utf8")));
}

function thresholds(policies: Map<string, AlertPolicy>) {
  return [...policies.values()].flatMap((policy) =>
    policy.conditions.flatMap((condition) =>
      "conditionThreshold" in condition ? [condition.conditionThreshold] : [],
    ),
  );
}

function promql(policies: Map<string, AlertPolicy>) {
  return [...policies.values()].flatMap((policy) =>
    policy.conditions.flatMap((condition) =>
      "conditionPrometheusQueryLanguage" in condition ? [condition.conditionPrometheusQueryLanguage] : [],
    ),
  );
}

const normalize = (expr: string) => expr.replace(/\s+/g, " ").replace(/\( /g, "(").trim();

/** Metric names a PromQL expression selects: identifiers followed by `{` or `[`. */
function selectedMetrics(expr: string): string[] {
  return [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[{[]/g)].map((match) => match[1] as string);
}

async function exportedMetricNames(): Promise<Set<string>> {
  const metrics = createMetrics({ defaultMetrics: false });
  const names = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (metric.type === "histogram")
      for (const suffix of ["_bucket", "_count", "_sum"]) names.add(metric.name + suffix);
  }
  return names;
}

function balanced(expr: string): boolean {
  const pairs: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
  const stack: string[] = [];
  let quoted = false;
  for (const char of expr) {
    if (char === '"') quoted = !quoted;
    if (quoted) continue;
    if ("([{".includes(char)) stack.push(char);
    if (char in pairs && stack.pop() !== pairs[char]) return false;
  }
  return stack.length === 0 && !quoted;
}

describe("the Cloud Monitoring alert policies", () => {
  it("are well-formed AlertPolicy resources", () => {
    const policies = loadPolicies();
    expect(policies.size).toBe(7);
    for (const query of promql(policies)) expect(balanced(query.query), query.query).toBe(true);
  });

  it("alert on more than 1,000,000 Firestore document reads per day", () => {
    const [reads] = thresholds(loadPolicies()).filter((c) =>
      c.filter.includes('"firestore.googleapis.com/document/read_count"'),
    );
    expect(reads).toMatchObject({ comparison: "COMPARISON_GT", thresholdValue: 1_000_000 });
    expect(reads?.aggregations[0]).toMatchObject({
      alignmentPeriod: "86400s",
      perSeriesAligner: "ALIGN_SUM",
    });
  });

  it("alert on more than 500,000 Firestore document writes per day", () => {
    const [writes] = thresholds(loadPolicies()).filter((c) =>
      c.filter.includes('"firestore.googleapis.com/document/write_count"'),
    );
    expect(writes).toMatchObject({ comparison: "COMPARISON_GT", thresholdValue: 500_000 });
    expect(writes?.aggregations[0]).toMatchObject({
      alignmentPeriod: "86400s",
      perSeriesAligner: "ALIGN_SUM",
    });
  });

  it("alert on more than 1 GB (GiB) of Firestore storage", () => {
    const [storage] = thresholds(loadPolicies()).filter((c) =>
      c.filter.includes('"firestore.googleapis.com/storage/data_and_index_storage_bytes"'),
    );
    expect(storage).toMatchObject({ comparison: "COMPARISON_GT", thresholdValue: 1024 ** 3 });
  });

  it("alert on an error rate above 2 % over 5 minutes", () => {
    const [errors] = promql(loadPolicies()).filter((c) => c.alertRule === "FirebrickErrorRateHigh");
    expect(errors?.query).toMatch(
      /status_code=~"5\.\."\}\[5m\]\)\) \/ sum\(rate\(http_request_duration_seconds_count\[5m\]\)\) > 0\.02$/,
    );
  });

  it("alert when the telemetry 'last 100' P50 exceeds 300 ms or its P95 800 ms for 15 minutes", () => {
    const conditions = promql(loadPolicies());
    const p50 = conditions.find((c) => c.alertRule === "FirebrickTelemetryLatestP50High");
    const p95 = conditions.find((c) => c.alertRule === "FirebrickTelemetryLatestP95High");
    expect(p50?.query).toMatch(/^histogram_quantile\(0\.5, .*action="telemetry\.latest".* > 0\.3$/);
    expect(p95?.query).toMatch(/^histogram_quantile\(0\.95, .*action="telemetry\.latest".* > 0\.8$/);
    expect(p50?.duration).toBe("900s");
    expect(p95?.duration).toBe("900s");
  });

  it("alert when availability falls below 99.5 %", () => {
    const [availability] = promql(loadPolicies()).filter((c) => c.alertRule === "FirebrickAvailabilityLow");
    expect(availability?.query).toMatch(/< 0\.995$/);
  });

  it("alert when an instance's clock drifts ±200 ms or more from Firestore's (the lock spec's warning level)", () => {
    const [drift] = promql(loadPolicies()).filter((c) => c.alertRule === "FirebrickLockClockDrift");
    expect(drift?.query).toMatch(/^max\(abs\(firebrick_lock_clock_drift_ms\{\}\)\) >= 200$/);
  });

  it("use only metrics that Firebrick exports", async () => {
    const exported = await exportedMetricNames();
    for (const condition of promql(loadPolicies())) {
      for (const name of selectedMetrics(condition.query))
        expect(exported, `${name} in ${condition.alertRule}`).toContain(name);
    }
  });
});

describe("the Prometheus rules file", () => {
  it("is well formed and uses only metrics that Firebrick exports", async () => {
    const exported = await exportedMetricNames();
    const rules = loadRules().groups.flatMap((group) => group.rules);
    expect(rules.length).toBe(8);
    for (const rule of rules) {
      expect(balanced(rule.expr), rule.expr).toBe(true);
      for (const name of selectedMetrics(rule.expr))
        expect(exported, `${name} in ${rule.alert}`).toContain(name);
    }
  });

  it("carries every threshold of the plan", () => {
    const rules = new Map(
      loadRules()
        .groups.flatMap((group) => group.rules)
        .map((rule) => [rule.alert, rule]),
    );
    const expr = (alert: string) => normalize(rules.get(alert)?.expr ?? "");
    expect(expr("FirebrickFirestoreReadsHigh")).toMatch(
      /firebrick_store_reads_total\{backend="firestore"\}\[1d\]\)\) > 1000000$/,
    );
    expect(expr("FirebrickFirestoreWritesHigh")).toMatch(
      /firebrick_store_writes_total\{backend="firestore"\}\[1d\]\)\) > 500000$/,
    );
    expect(expr("FirebrickStorageHigh")).toMatch(/firebrick_storage_bytes\) > 1073741824$/);
    expect(rules.get("FirebrickTelemetryLatestP50High")?.for).toBe("15m");
    expect(rules.get("FirebrickTelemetryLatestP95High")?.for).toBe("15m");
  });

  it("says the same as the Cloud Monitoring PromQL conditions it mirrors", () => {
    const rules = new Map(
      loadRules()
        .groups.flatMap((group) => group.rules)
        .map((rule) => [rule.alert, rule]),
    );
    const conditions = promql(loadPolicies());
    expect(conditions.length).toBe(5);
    for (const condition of conditions) {
      const rule = rules.get(condition.alertRule);
      expect(rule, condition.alertRule).toBeDefined();
      expect(normalize(rule?.expr ?? "")).toBe(normalize(condition.query));
      const seconds = { s: 1, m: 60, h: 3600, d: 86400 };
      const ruleFor = Number(rule?.for.slice(0, -1)) * seconds[rule?.for.at(-1) as keyof typeof seconds];
      expect(`${ruleFor}s`).toBe(condition.duration);
    }
  });
});

const Dashboard = z.strictObject({
  displayName: z.string(),
  labels: z.record(z.string(), z.string()),
  mosaicLayout: z.strictObject({
    columns: z.literal(12),
    tiles: z.array(
      z.strictObject({
        xPos: z.number().int().min(0),
        yPos: z.number().int().min(0),
        width: z.number().int().min(1),
        height: z.number().int().min(1),
        widget: z.strictObject({
          title: z.string().min(1),
          xyChart: z.strictObject({
            dataSets: z
              .array(
                z.strictObject({
                  timeSeriesQuery: z.union([
                    z.strictObject({ prometheusQuery: z.string().min(1) }),
                    z.strictObject({
                      timeSeriesFilter: z.strictObject({
                        filter: z.string().includes("metric.type = "),
                        aggregation: z.strictObject({
                          alignmentPeriod: duration,
                          perSeriesAligner: z.string(),
                          crossSeriesReducer: z.string(),
                        }),
                      }),
                    }),
                  ]),
                  plotType: z.literal("LINE"),
                  legendTemplate: z.string().optional(),
                }),
              )
              .min(1),
            thresholds: z.array(z.strictObject({ value: z.number(), label: z.string() })).optional(),
          }),
        }),
      }),
    ),
  }),
});

describe("the Cloud Monitoring dashboard", () => {
  it("is well formed, fits its grid without overlaps, and charts only metrics Firebrick exports", async () => {
    const dashboard = Dashboard.parse(JSON.parse(readFileSync(join(MONITORING, "dashboard.json"), "utf8")));
    const exported = await exportedMetricNames();
    const cells = new Set<string>();
    for (const tile of dashboard.mosaicLayout.tiles) {
      expect(tile.xPos + tile.width).toBeLessThanOrEqual(12);
      for (let x = tile.xPos; x < tile.xPos + tile.width; x++) {
        for (let y = tile.yPos; y < tile.yPos + tile.height; y++) {
          expect(cells.has(`${x},${y}`), `${tile.widget.title} overlaps`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
      for (const dataSet of tile.widget.xyChart.dataSets) {
        if (!("prometheusQuery" in dataSet.timeSeriesQuery)) continue;
        const query = dataSet.timeSeriesQuery.prometheusQuery;
        expect(balanced(query), query).toBe(true);
        for (const name of selectedMetrics(query))
          expect(exported, `${name} in ${tile.widget.title}`).toContain(name);
      }
    }
  });
});
