import { API_PREDICTION_OPERATIONS } from "./alert-rules";

/**
 * Grafana dashboards of the platform, as plain JSON models (schemaVersion 39), built from the metric
 * names of the services. Loaded by the Grafana sidecar from labelled ConfigMaps.
 */
export interface Target {
  expr: string;
  legendFormat: string;
}

interface Panel {
  id: number;
  type: "timeseries" | "stat" | "table";
  title: string;
  description?: string;
  datasource: { type: "prometheus"; uid: "${datasource}" };
  gridPos: { x: number; y: number; w: number; h: number };
  targets: (Target & { refId: string; datasource: Panel["datasource"]; instant?: boolean; format?: string })[];
  fieldConfig: { defaults: { unit: string; min?: number; max?: number }; overrides: [] };
  options?: Record<string, unknown>;
}

export interface Dashboard {
  uid: string;
  title: string;
  tags: string[];
  timezone: "utc";
  schemaVersion: number;
  refresh: string;
  time: { from: string; to: string };
  templating: { list: Record<string, unknown>[] };
  panels: Panel[];
  editable: boolean;
}

const DS = { type: "prometheus", uid: "${datasource}" } as const;
const MODEL = `model=~"$model"`;
const RATE = "$__rate_interval";

class Layout {
  private panels: Panel[] = [];
  private x = 0;
  private y = 0;

  add(type: Panel["type"], title: string, unit: string, targets: Target[], opts: { w?: number; h?: number; description?: string; min?: number; max?: number; instant?: boolean } = {}): this {
    const w = opts.w ?? 12;
    const h = opts.h ?? 8;
    if (this.x + w > 24) {
      this.x = 0;
      this.y += h;
    }
    this.panels.push({
      id: this.panels.length + 1,
      type,
      title,
      description: opts.description,
      datasource: DS,
      gridPos: { x: this.x, y: this.y, w, h },
      targets: targets.map((t, i) => ({
        ...t,
        refId: String.fromCharCode(65 + i),
        datasource: DS,
        ...(opts.instant ? { instant: true, format: "table" } : {}),
      })),
      fieldConfig: { defaults: { unit, ...(opts.min !== undefined ? { min: opts.min } : {}), ...(opts.max !== undefined ? { max: opts.max } : {}) }, overrides: [] },
      options: type === "timeseries" ? { legend: { displayMode: "table", placement: "bottom", calcs: ["lastNotNull", "max"] }, tooltip: { mode: "multi" } } : undefined,
    });
    this.x += w;
    return this;
  }

  build(): Panel[] {
    return this.panels;
  }
}

/** The data source and one multi-value variable `name` over the values of `label` of `metric` ("All": every value). */
function variables(metric: string, name = "model", label = name, title = "Model"): Record<string, unknown>[] {
  return [
    { name: "datasource", label: "Data source", type: "datasource", query: "prometheus", current: {}, hide: 0 },
    {
      name,
      label: title,
      type: "query",
      datasource: DS,
      query: { query: `label_values(${metric}, ${label})`, refId: `${name}s` },
      definition: `label_values(${metric}, ${label})`,
      multi: true,
      includeAll: true,
      allValue: ".+",
      refresh: 2,
      current: {},
      hide: 0,
    },
  ];
}

function dashboard(uid: string, title: string, tags: string[], modelMetric: string, panels: Panel[], templating = variables(modelMetric)): Dashboard {
  return {
    uid,
    title,
    tags: ["mlops", ...tags],
    timezone: "utc",
    schemaVersion: 39,
    refresh: "30s",
    time: { from: "now-6h", to: "now" },
    templating: { list: templating },
    panels,
    editable: false,
  };
}

/** Traffic, latency quantiles and errors by model, version and variant; the event pipeline. */
export function modelServingDashboard(): Dashboard {
  const byMvv = "model, version, variant";
  const quantile = (q: number) => ({
    expr: `histogram_quantile(${q}, sum by (model, variant, le) (rate(mlops_inference_request_duration_seconds_bucket{${MODEL}}[${RATE}])))`,
    legendFormat: `p${Math.round(q * 100)} {{model}} {{variant}}`,
  });
  const panels = new Layout()
    .add("timeseries", "Requests per second", "reqps", [{ expr: `sum by (${byMvv}) (rate(mlops_inference_requests_total{${MODEL}}[${RATE}]))`, legendFormat: "{{model}} v{{version}} {{variant}}" }])
    .add("timeseries", "Rows per second", "rowsps", [{ expr: `sum by (${byMvv}) (rate(mlops_inference_rows_total{${MODEL}}[${RATE}]))`, legendFormat: "{{model}} v{{version}} {{variant}}" }])
    .add("timeseries", "Latency quantiles", "s", [quantile(0.5), quantile(0.95), quantile(0.99)], { w: 24 })
    .add(
      "timeseries",
      "Error ratio (5xx / all)",
      "percentunit",
      [
        {
          expr: `sum by (${byMvv}) (rate(mlops_inference_requests_total{${MODEL}, status=~"5.."}[${RATE}])) / sum by (${byMvv}) (rate(mlops_inference_requests_total{${MODEL}}[${RATE}]))`,
          legendFormat: "{{model}} v{{version}} {{variant}}",
        },
      ],
      { min: 0 },
    )
    .add("timeseries", "Responses by status", "reqps", [{ expr: `sum by (model, variant, status) (rate(mlops_inference_requests_total{${MODEL}}[${RATE}]))`, legendFormat: "{{model}} {{variant}} {{status}}" }])
    .add("timeseries", "Requests by protocol", "reqps", [{ expr: `sum by (model, protocol) (rate(mlops_inference_requests_total{${MODEL}}[${RATE}]))`, legendFormat: "{{model}} {{protocol}}" }])
    .add("timeseries", "Model load failures", "short", [{ expr: `sum by (model, variant) (increase(mlops_model_load_failures_total{${MODEL}}[${RATE}]))`, legendFormat: "{{model}} {{variant}}" }])
    .add("timeseries", "Challenger share of live traffic", "percent", [{ expr: `max by (model) (mlops_serving_challenger_weight_percent{${MODEL}})`, legendFormat: "{{model}}" }], {
      min: 0,
      max: 100,
      description: "The weight serving splits by: the registry's mlops.challenger_weight tag a deploy wrote, else CHALLENGER_WEIGHT, capped by MAX_CHALLENGER_WEIGHT",
    })
    .add("table", "Loaded model versions", "none", [{ expr: `max by (model, version, variant, uri) (mlops_model_info{${MODEL}})`, legendFormat: "" }], { w: 24, instant: true })
    .add("timeseries", "Event queue depth", "short", [{ expr: `sum by (mlops_model, sink) (mlops_prediction_events_queue_depth)`, legendFormat: "{{mlops_model}} -> {{sink}}" }])
    .add("timeseries", "Events sent and dropped", "short", [
      { expr: `sum by (sink) (rate(mlops_prediction_events_sent_total[${RATE}]))`, legendFormat: "sent -> {{sink}}" },
      { expr: `sum by (sink, reason) (rate(mlops_prediction_events_dropped_total[${RATE}]))`, legendFormat: "dropped -> {{sink}} ({{reason}})" },
    ])
    .build();
  return dashboard("mlops-model-serving", "MLOps / Model serving", ["serving"], "mlops_inference_requests_total", panels);
}

/** Drift per feature and model quality over time. */
export function modelHealthDashboard(): Dashboard {
  const quality = (metric: string, title: string) =>
    ({ expr: `max by (model, version, variant, window) (${metric}{${MODEL}})`, legendFormat: `${title} {{model}} v{{version}} {{variant}} ({{window}})` }) as Target;
  const panels = new Layout()
    .add("timeseries", "Drifted feature share", "percentunit", [{ expr: `max by (model) (mlops_drift_share{${MODEL}})`, legendFormat: "{{model}}" }], { min: 0, max: 1 })
    .add("timeseries", "Dataset drift (1 = drifted)", "short", [{ expr: `max by (model) (mlops_drift_dataset_drift{${MODEL}})`, legendFormat: "{{model}}" }], { min: 0, max: 1 })
    .add("timeseries", "Drift score per feature", "short", [{ expr: `max by (model, feature, method) (mlops_drift_score{${MODEL}})`, legendFormat: "{{model}} {{feature}} ({{method}})" }], { w: 24, h: 10 })
    .add("table", "Drifted features now", "short", [{ expr: `max by (model, feature) (mlops_drift_detected{${MODEL}}) == 1`, legendFormat: "" }], { instant: true })
    .add("timeseries", "Rows in the drift window", "short", [{ expr: `max by (model) (mlops_drift_window_rows{${MODEL}})`, legendFormat: "{{model}}" }])
    .add("timeseries", "Accuracy", "percentunit", [quality("mlops_model_accuracy", "accuracy")], { min: 0, max: 1 })
    .add("timeseries", "Precision, recall, F1, ROC AUC", "percentunit", [
      quality("mlops_model_precision", "precision"),
      quality("mlops_model_recall", "recall"),
      quality("mlops_model_f1", "F1"),
      quality("mlops_model_roc_auc", "ROC AUC"),
    ], { min: 0, max: 1 })
    .add("timeseries", "MAE and RMSE (regressors)", "short", [quality("mlops_model_mae", "MAE"), quality("mlops_model_rmse", "RMSE")])
    .add("timeseries", "Labelled predictions in the window", "short", [quality("mlops_model_labels", "labels")])
    .add("timeseries", "Mean label delay", "s", [quality("mlops_model_label_delay_seconds", "delay")])
    .add("timeseries", "Events ingested", "short", [
      { expr: `sum by (model) (rate(mlops_drift_events_ingested_total{${MODEL}}[${RATE}]))`, legendFormat: "drift {{model}}" },
      { expr: `sum (rate(mlops_monitor_events_ingested_total[${RATE}]))`, legendFormat: "monitor" },
      { expr: `sum (rate(mlops_monitor_feedback_total[${RATE}]))`, legendFormat: "feedback" },
    ])
    .build();
  return dashboard("mlops-model-health", "MLOps / Model health", ["drift", "quality"], "mlops_drift_share", panels);
}

/**
 * The platform API (services/api), the front door in front of every model: calls by operation (the
 * OpenAPI operationId) and status class, the 5xx ratio its alert watches, and the latency of the
 * predictions that pass through it. No model variable: the API's metrics are per operation.
 */
export function platformApiDashboard(): Dashboard {
  const OPERATION = `operation=~"$operation"`;
  const PREDICTIONS = `operation=~"${API_PREDICTION_OPERATIONS.join("|")}"`;
  const calls = (selector: string) => `sum by (operation) (rate(mlops_api_requests_total{${selector}}[${RATE}]))`;
  const quantile = (q: number) => ({
    expr: `histogram_quantile(${q}, sum by (operation, le) (rate(mlops_api_request_duration_seconds_bucket{${PREDICTIONS}}[${RATE}])))`,
    legendFormat: `p${Math.round(q * 100)} {{operation}}`,
  });
  const panels = new Layout()
    .add("stat", "API targets up", "short", [{ expr: `sum(up{mlops_component="api"})`, legendFormat: "up" }, { expr: `count(up{mlops_component="api"})`, legendFormat: "scraped" }], {
      w: 6,
      description: "Platform API pods Prometheus scrapes, and how many of them answer (PlatformApiDown).",
    })
    .add("timeseries", "Requests per second by operation", "reqps", [{ expr: calls(OPERATION), legendFormat: "{{operation}}" }], { w: 18 })
    .add(
      "timeseries",
      "Requests by status class",
      "reqps",
      ["2", "3", "4", "5"].map((c) => ({ expr: calls(`${OPERATION}, status=~"${c}.."`), legendFormat: `{{operation}} ${c}xx` })),
      { description: "4xx are the callers' (validation, auth, rate limits, 404); 5xx the platform's." },
    )
    .add(
      "timeseries",
      "Error ratio (5xx / all) by operation",
      "percentunit",
      [{ expr: `${calls(`${OPERATION}, status=~"5.."`)} / ${calls(OPERATION)}`, legendFormat: "{{operation}}" }],
      { min: 0, description: "503s count: serving or the monitor behind the API did not answer (PlatformApiErrorRatioHigh)." },
    )
    .add("timeseries", "Prediction latency quantiles", "s", [quantile(0.5), quantile(0.95), quantile(0.99)], {
      w: 24,
      description: `${API_PREDICTION_OPERATIONS.join(" and ")} through the API, serving's time included (PlatformApiLatencyHigh watches the p95).`,
    })
    .add(
      "timeseries",
      "p95 latency by operation",
      "s",
      [{ expr: `histogram_quantile(0.95, sum by (operation, le) (rate(mlops_api_request_duration_seconds_bucket{${OPERATION}}[${RATE}])))`, legendFormat: "{{operation}}" }],
      { w: 24, description: "Every operation; the deploy gate (deployModel) takes seconds by design." },
    )
    .build();
  return dashboard("mlops-platform-api", "MLOps / Platform API", ["api"], "mlops_api_requests_total", panels, variables("mlops_api_requests_total", "operation", "operation", "Operation"));
}

export function platformDashboards(): Dashboard[] {
  return [modelServingDashboard(), modelHealthDashboard(), platformApiDashboard()];
}

/** Every PromQL expression of a dashboard, for offline checks. */
export function dashboardExpressions(d: Dashboard): string[] {
  return d.panels.flatMap((p) => p.targets.map((t) => t.expr));
}
