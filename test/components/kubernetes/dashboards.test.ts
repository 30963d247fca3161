import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { stringify } from "yaml";
import { API_PREDICTION_OPERATIONS } from "../../../components/kubernetes/alert-rules";
import { dashboardExpressions, modelHealthDashboard, modelServingDashboard, platformApiDashboard, platformDashboards } from "../../../components/kubernetes/dashboards";
import { requireTool, run } from "../../helpers/tools";

/** The metric names of the common brief: dashboards may use these (and Prometheus' own `up`) only. */
const KNOWN_METRICS = new Set([
  "mlops_inference_requests_total",
  "mlops_inference_request_duration_seconds_bucket",
  "mlops_inference_rows_total",
  "mlops_model_info",
  "mlops_serving_challenger_weight_percent",
  "mlops_model_load_failures_total",
  "mlops_prediction_events_queue_depth",
  "mlops_prediction_events_dropped_total",
  "mlops_prediction_events_sent_total",
  "mlops_drift_score",
  "mlops_drift_detected",
  "mlops_drift_share",
  "mlops_drift_dataset_drift",
  "mlops_drift_window_rows",
  "mlops_drift_events_ingested_total",
  "mlops_drift_events_rejected_total",
  "mlops_drift_webhook_failures_total",
  "mlops_drift_evaluation_duration_seconds_bucket",
  "mlops_model_accuracy",
  "mlops_model_precision",
  "mlops_model_recall",
  "mlops_model_f1",
  "mlops_model_roc_auc",
  "mlops_model_mae",
  "mlops_model_rmse",
  "mlops_model_labels",
  "mlops_model_label_delay_seconds",
  "mlops_monitor_events_ingested_total",
  "mlops_monitor_feedback_total",
  "mlops_monitor_alert_actions_total",
  "mlops_api_requests_total",
  "mlops_api_request_duration_seconds_bucket",
]);

/** Grafana's variables replaced by what Grafana would send, so promtool can parse the query. */
const concrete = (expr: string) => expr.replace(/\$__rate_interval/g, "1m").replace(/\$model/g, ".+").replace(/\$operation/g, ".+");

describe("Grafana dashboards", () => {
  test("every query parses as PromQL (checked by promtool as recording rules)", () => {
    const promtool = requireTool("promtool", "prometheus");
    const dir = mkdtempSync(path.join(tmpdir(), "mlops-dash-"));
    try {
      const rules = platformDashboards().flatMap((d) => dashboardExpressions(d).map((expr, i) => ({ record: `dashboard:${d.uid.replace(/-/g, "_")}:${i}`, expr: concrete(expr) })));
      const file = path.join(dir, "dashboards.yml");
      writeFileSync(file, stringify({ groups: [{ name: "dashboards", rules }] }));
      const r = run(promtool, ["check", "rules", file]);
      expect(r.output).toContain(`SUCCESS: ${rules.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("queries use only the platform's metric names", () => {
    const used = new Set(platformDashboards().flatMap((d) => dashboardExpressions(d).flatMap((e) => e.match(/\bmlops_[a-z0-9_]+/g) ?? [])));
    // mlops_model and mlops_component are the scrape-target labels the ServiceMonitors set, not metrics.
    const targetLabels = new Set(["mlops_model", "mlops_component"]);
    expect([...used].filter((m) => !KNOWN_METRICS.has(m) && !targetLabels.has(m))).toEqual([]);
    expect(used.size).toBeGreaterThan(20);
  });

  test("model serving: traffic, latency quantiles and errors by model, version and variant", () => {
    const d = modelServingDashboard();
    const panel = (title: string) => d.panels.find((p) => p.title === title)!;
    expect(panel("Requests per second").targets[0].expr).toMatch(/sum by \(model, version, variant\) \(rate\(mlops_inference_requests_total/);
    expect(panel("Latency quantiles").targets.map((t) => /histogram_quantile\(([0-9.]+)/.exec(t.expr)![1])).toEqual(["0.5", "0.95", "0.99"]);
    expect(panel("Error ratio (5xx / all)").targets[0].expr).toMatch(/status=~"5\.\."\}.*\/ sum by \(model, version, variant\)/);
    expect(panel("Challenger share of live traffic").targets[0].expr).toBe('max by (model) (mlops_serving_challenger_weight_percent{model=~"$model"})');
    expect(d.templating.list.map((v) => v.name)).toEqual(["datasource", "model"]);
  });

  test("platform API: calls by operation and status class, the 5xx ratio, prediction latency quantiles; no model variable", () => {
    const d = platformApiDashboard();
    const panel = (title: string) => d.panels.find((p) => p.title === title)!;
    expect(d.uid).toBe("mlops-platform-api");
    expect(platformDashboards().map((x) => x.uid)).toEqual(["mlops-model-serving", "mlops-model-health", "mlops-platform-api"]);
    expect(d.templating.list.map((v) => v.name)).toEqual(["datasource", "operation"]);
    expect(d.templating.list[1]).toMatchObject({ definition: "label_values(mlops_api_requests_total, operation)", multi: true, includeAll: true });
    expect(panel("Requests per second by operation").targets[0].expr).toBe('sum by (operation) (rate(mlops_api_requests_total{operation=~"$operation"}[$__rate_interval]))');
    expect(panel("Requests by status class").targets.map((t) => [/status=~"(\d)\.\."/.exec(t.expr)![1], t.legendFormat])).toEqual([
      ["2", "{{operation}} 2xx"],
      ["3", "{{operation}} 3xx"],
      ["4", "{{operation}} 4xx"],
      ["5", "{{operation}} 5xx"],
    ]);
    expect(panel("Error ratio (5xx / all) by operation").targets[0].expr).toMatch(/status=~"5\.\."\}.*\/ sum by \(operation\) \(rate\(mlops_api_requests_total\{operation=~"\$operation"\}/);
    const latency = panel("Prediction latency quantiles").targets;
    expect(latency.map((t) => /histogram_quantile\(([0-9.]+)/.exec(t.expr)![1])).toEqual(["0.5", "0.95", "0.99"]);
    // The predictions only: the deploy gate's seconds would drown them.
    for (const t of latency) expect(t.expr).toContain(`{operation=~"${API_PREDICTION_OPERATIONS.join("|")}"}`);
    expect(dashboardExpressions(d).join("\n")).not.toMatch(/\$model|\bmodel\b/);
    expect(d.panels.every((p) => p.gridPos.x + p.gridPos.w <= 24)).toBe(true);
    expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
  });

  test("model health: drift per feature and quality over time", () => {
    const d = modelHealthDashboard();
    const exprs = dashboardExpressions(d).join("\n");
    expect(exprs).toMatch(/max by \(model, feature, method\) \(mlops_drift_score/);
    expect(exprs).toMatch(/mlops_model_accuracy/);
    expect(d.panels.every((p) => p.gridPos.x + p.gridPos.w <= 24)).toBe(true);
    expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
  });
});
