import { stringify } from "yaml";

/**
 * The platform's alert rules (PRODUCT.md "Alert rules") as a pure function of thresholds and `for:`
 * durations, so the cluster (a PrometheusRule) and the local platform (a plain rule file with short
 * durations) load the same rules. Metric names are the ones of the services (common brief).
 *
 * Scrape targets carry two labels the rules rely on, set by the ServiceMonitors (and by the local
 * platform's scrape config): `mlops_component` (serving | drift | monitor | mlflow | api) and `mlops_model`
 * (serving and drift only). Every alert carries `platform="mlops"` (Alertmanager routes on it to the
 * monitor), `severity`, the owning `team` when given (Alertmanager routes on it to people), and a
 * `runbook_url` annotation; the model alerts carry `model`. The platform API's alerts (group `mlops-api`)
 * carry no `model`: the API is one service in front of every model, so they are by `operation` (the
 * OpenAPI operationId) or by scrape target instead.
 */
/** The alerts about one model (they carry its `model` label): the ones a model's alert actions may name. */
export const MODEL_ALERT_NAMES = [
  "ModelServerDown",
  "InferenceErrorRatioHigh",
  "InferenceLatencyHigh",
  "DataDriftDetected",
  "DataDriftCritical",
  "ModelQualityLow",
  "PredictionEventsDropped",
  "DriftDetectorDown",
  "ModelVersionMissing",
] as const;

/** The platform API's alerts: about the service in front of every model, with no `model` label. */
export const API_ALERT_NAMES = ["PlatformApiDown", "PlatformApiErrorRatioHigh", "PlatformApiLatencyHigh"] as const;

export const ALERT_NAMES = [...MODEL_ALERT_NAMES, ...API_ALERT_NAMES] as const;
export type AlertName = (typeof ALERT_NAMES)[number];

/** PRODUCT.md's `for` column (ModelVersionMissing and the platform API's alerts are not in its table). */
export const DEFAULT_FOR: Record<AlertName, string> = {
  ModelServerDown: "1m",
  InferenceErrorRatioHigh: "2m",
  InferenceLatencyHigh: "2m",
  DataDriftDetected: "15m",
  DataDriftCritical: "15m",
  ModelQualityLow: "30m",
  PredictionEventsDropped: "10m",
  DriftDetectorDown: "5m",
  ModelVersionMissing: "10m",
  PlatformApiDown: "2m",
  PlatformApiErrorRatioHigh: "5m",
  PlatformApiLatencyHigh: "10m",
};

export const SEVERITY: Record<AlertName, "critical" | "warning"> = {
  ModelServerDown: "critical",
  InferenceErrorRatioHigh: "critical",
  InferenceLatencyHigh: "warning",
  DataDriftDetected: "warning",
  DataDriftCritical: "critical",
  ModelQualityLow: "critical",
  PredictionEventsDropped: "warning",
  DriftDetectorDown: "warning",
  ModelVersionMissing: "warning",
  PlatformApiDown: "critical",
  PlatformApiErrorRatioHigh: "critical",
  PlatformApiLatencyHigh: "warning",
};

/**
 * The platform API's prediction operations (operationIds of services/api/src/routes: predictions.ts and
 * batch.ts), the only ones PlatformApiLatencyHigh watches: the others (the deploy gate runs a candidate
 * through ONNX Runtime, model and user administration) take what they take and must not page.
 */
export const API_PREDICTION_OPERATIONS = ["createPrediction", "predictBatch"] as const;

/** The default of `apiLatencyP95Seconds`: predictions through the API, seconds at p95. */
export const DEFAULT_API_LATENCY_P95_SECONDS = 0.5;

/** The label every platform alert carries; Alertmanager sends what has it to the monitor. */
export const PLATFORM_ALERT_LABEL = { platform: "mlops" } as const;

/**
 * Where the runbooks live: `docs/runbooks/<AlertName>.md` in the repository, one per alert (a test keeps
 * them one-to-one). Every rule's `runbook_url` is `<runbookBaseUrl>/<AlertName>.md`; the default base is
 * this repository-relative path, a stack sets an absolute one (e.g. its Git host's `blob/main/docs/runbooks`).
 */
export const RUNBOOK_DIR = "docs/runbooks";

export function runbookUrl(alert: AlertName, base: string = RUNBOOK_DIR): string {
  return `${base.replace(/\/+$/, "")}/${alert}.md`;
}

/**
 * While the key fires for a model, Alertmanager holds back the listed alerts of the same model (its
 * inhibit rules, alertmanager-config.ts): a critical drift says all the warning would; a server that is
 * down explains its errors and latency.
 */
export const INHIBITS: Partial<Record<AlertName, AlertName[]>> = {
  DataDriftCritical: ["DataDriftDetected"],
  ModelServerDown: ["InferenceErrorRatioHigh", "InferenceLatencyHigh"],
};

export interface AlertRuleParams {
  /** 5xx share of inference requests above which InferenceErrorRatioHigh fires (0.02). */
  errorRatio: number;
  /** p95 inference latency, seconds (0.1). */
  latencyP95Seconds: number;
  /** p95 latency of the platform API's prediction operations, seconds (default 0.5). */
  apiLatencyP95Seconds?: number;
  /** Drifted-feature share for DataDriftDetected (0.3) and DataDriftCritical (0.7). */
  driftShareWarning: number;
  driftShareCritical: number;
  /** One ModelQualityLow rule per model, with its own accuracy threshold. */
  models: { name: string; accuracyThreshold: number }[];
  /** The monitor's accuracy window the quality rule watches (default 1h). */
  qualityWindow?: string;
  /** Labelled predictions the window needs before its accuracy counts (default 100). */
  qualityMinLabels?: number;
  /** Range of the rate() windows (default 5m). */
  rateWindow?: string;
  /** `for:` per alert; PRODUCT.md's values where unset. The local platform shortens them. */
  for?: Partial<Record<AlertName, string>>;
  /** Base of every rule's `runbook_url` annotation (default RUNBOOK_DIR, the repository-relative path). */
  runbookBaseUrl?: string;
  /** The `team` label of every alert (Alertmanager routes on it); unset: no such label. */
  team?: string;
}

export interface AlertRule {
  alert: AlertName;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;
/** A `team` label value Alertmanager matchers and Prometheus templates take as is. */
export const TEAM_LABEL_VALUE = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$/;

export function buildAlertRules(params: AlertRuleParams): RuleGroup[] {
  const p = validate(params);
  const w = p.rateWindow;
  const rule = (alert: AlertName, expr: string, summary: string, description: string, extraLabels: Record<string, string> = {}): AlertRule => ({
    alert,
    expr,
    for: p.for[alert],
    labels: { severity: SEVERITY[alert], ...PLATFORM_ALERT_LABEL, ...(p.team ? { team: p.team } : {}), ...extraLabels },
    annotations: { summary, description, runbook_url: runbookUrl(alert, p.runbookBaseUrl) },
  });
  // Serving and drift targets are per model: their `mlops_model` becomes the alert's `model`. A target of
  // no model (the platform API) keeps its own labels.
  const down = (component: string, perModel = true) =>
    perModel ? `label_replace(up{mlops_component="${component}"}, "model", "$1", "mlops_model", "(.+)") == 0` : `up{mlops_component="${component}"} == 0`;

  const serving: AlertRule[] = [
    rule("ModelServerDown", down("serving"), "Model server {{ $labels.model }} is down", "Prometheus cannot scrape the serving target {{ $labels.instance }} of model {{ $labels.model }}."),
    rule(
      "InferenceErrorRatioHigh",
      [
        `(`,
        `  sum by (model, variant) (rate(mlops_inference_requests_total{status=~"5.."}[${w}]))`,
        `/`,
        `  sum by (model, variant) (rate(mlops_inference_requests_total[${w}]))`,
        `) > ${p.errorRatio}`,
      ].join("\n"),
      "Inference errors of {{ $labels.model }} ({{ $labels.variant }}) above " + percent(p.errorRatio),
      `{{ $value | humanizePercentage }} of the inference requests of {{ $labels.model }} ({{ $labels.variant }}) answered 5xx over ${w} (threshold ${percent(p.errorRatio)}).`,
    ),
    rule(
      "InferenceLatencyHigh",
      `histogram_quantile(0.95, sum by (model, variant, le) (rate(mlops_inference_request_duration_seconds_bucket[${w}]))) > ${p.latencyP95Seconds}`,
      `p95 inference latency of {{ $labels.model }} above ${p.latencyP95Seconds}s`,
      `The p95 latency of {{ $labels.model }} ({{ $labels.variant }}) is {{ $value | humanizeDuration }} over ${w} (threshold ${p.latencyP95Seconds}s).`,
    ),
    rule(
      "PredictionEventsDropped",
      `sum by (model, sink) (label_replace(rate(mlops_prediction_events_dropped_total[${w}]), "model", "$1", "mlops_model", "(.+)")) > 0`,
      "Serving of {{ $labels.model }} drops prediction events for {{ $labels.sink }}",
      "Drift and quality monitoring of {{ $labels.model }} miss events: the queue to {{ $labels.sink }} drops {{ $value | humanize }}/s.",
    ),
    // A new stack's registry is empty: serving runs, not ready, until the configured alias has a version.
    rule(
      "ModelVersionMissing",
      `max by (model, variant) (mlops_serving_model_loaded) == 0`,
      "{{ $labels.model }} ({{ $labels.variant }}) has no version to serve",
      "Serving of {{ $labels.model }} has no loadable version for its {{ $labels.variant }} URI: register a version and point the alias at it (README, first deploy), or read serving's log for a refused version.",
      // The drift group has a rule of the same name: the static label keeps them distinct (promtool's lint).
      { component: "serving" },
    ),
  ];
  const drift: AlertRule[] = [
    rule(
      "DataDriftDetected",
      `max by (model) (mlops_drift_share) >= ${p.driftShareWarning}`,
      "Data drift on {{ $labels.model }}",
      `{{ $value | humanizePercentage }} of the features of {{ $labels.model }} drifted (threshold ${percent(p.driftShareWarning)}).`,
    ),
    rule(
      "DataDriftCritical",
      `max by (model) (mlops_drift_share) >= ${p.driftShareCritical}`,
      "Critical data drift on {{ $labels.model }}",
      `{{ $value | humanizePercentage }} of the features of {{ $labels.model }} drifted (threshold ${percent(p.driftShareCritical)}).`,
    ),
    rule("DriftDetectorDown", down("drift"), "Drift detector of {{ $labels.model }} is down", "Prometheus cannot scrape the drift target {{ $labels.instance }} of model {{ $labels.model }}."),
    rule(
      "ModelVersionMissing",
      `label_replace(max by (model) (mlops_drift_reference_loaded) == 0, "variant", "reference", "", "")`,
      "{{ $labels.model }} has no reference profile for drift detection",
      "The drift detector of {{ $labels.model }} waits for its reference profile: log reference_profile.json with the model version its REFERENCE_URI names.",
      { component: "drift" },
    ),
  ];
  const quality: AlertRule[] = p.models.map((m) => {
    const sel = `model="${m.name}", window="${p.qualityWindow}"`;
    return rule(
      "ModelQualityLow",
      [
        `max by (model, version, variant) (mlops_model_accuracy{${sel}}) < ${m.accuracyThreshold}`,
        `and on (model, version, variant)`,
        `max by (model, version, variant) (mlops_model_labels{${sel}}) >= ${p.qualityMinLabels}`,
      ].join("\n"),
      `Accuracy of ${m.name} below ${m.accuracyThreshold}`,
      `Accuracy of ${m.name} version {{ $labels.version }} ({{ $labels.variant }}) is {{ $value }} over the last ${p.qualityWindow} (threshold ${m.accuracyThreshold}, at least ${p.qualityMinLabels} labelled predictions).`,
      // One rule per model: the static label keeps the rules distinct for Prometheus (and promtool's lint).
      { model: m.name },
    );
  });
  const apiCalls = (selector = "") => `sum by (operation) (rate(mlops_api_requests_total${selector}[${w}]))`;
  const predictions = `operation=~"${API_PREDICTION_OPERATIONS.join("|")}"`;
  const api: AlertRule[] = [
    rule("PlatformApiDown", down("api", false), "Platform API target {{ $labels.instance }} is down", "Prometheus cannot scrape the platform API target {{ $labels.instance }}."),
    rule(
      "PlatformApiErrorRatioHigh",
      // 503s count: serving or the monitor behind the API is unreachable. The last clause keeps the rule to
      // operations with traffic in the window (without calls the ratio is 0/0, which never compares true).
      [
        `(`,
        `  ${apiCalls(`{status=~"5.."}`)}`,
        `/`,
        `  ${apiCalls()}`,
        `) > ${p.errorRatio}`,
        `and on (operation)`,
        `  ${apiCalls()} > 0`,
      ].join("\n"),
      "Platform API errors on {{ $labels.operation }} above " + percent(p.errorRatio),
      `{{ $value | humanizePercentage }} of the platform API's {{ $labels.operation }} calls answered 5xx over ${w} (threshold ${percent(p.errorRatio)}).`,
    ),
    rule(
      "PlatformApiLatencyHigh",
      `histogram_quantile(0.95, sum by (operation, le) (rate(mlops_api_request_duration_seconds_bucket{${predictions}}[${w}]))) > ${p.apiLatencyP95Seconds}`,
      `p95 latency of the platform API's {{ $labels.operation }} above ${p.apiLatencyP95Seconds}s`,
      `The p95 latency of {{ $labels.operation }} through the platform API is {{ $value | humanizeDuration }} over ${w} (threshold ${p.apiLatencyP95Seconds}s).`,
    ),
  ];
  return [
    { name: "mlops-serving", rules: serving },
    { name: "mlops-drift", rules: drift },
    ...(quality.length ? [{ name: "mlops-quality", rules: quality }] : []),
    { name: "mlops-api", rules: api },
  ];
}

/** A Prometheus rule file (`rule_files:`), byte for byte the groups of the PrometheusRule. */
export function renderRuleFile(groups: RuleGroup[], header = "Generated by components/kubernetes/alert-rules.ts: do not edit."): string {
  return `# ${header}\n${stringify({ groups }, { lineWidth: 0 })}`;
}

function validate(params: AlertRuleParams): Required<Omit<AlertRuleParams, "for" | "team">> & { for: Record<AlertName, string>; team?: string } {
  const problems: string[] = [];
  const ratio = (key: string, v: number) => {
    if (!(Number.isFinite(v) && v > 0 && v < 1)) problems.push(`${key}: expected a number between 0 and 1 (exclusive), got ${v}`);
  };
  ratio("errorRatio", params.errorRatio);
  ratio("driftShareWarning", params.driftShareWarning);
  ratio("driftShareCritical", params.driftShareCritical);
  if (!(Number.isFinite(params.latencyP95Seconds) && params.latencyP95Seconds > 0)) problems.push(`latencyP95Seconds: expected a positive number of seconds, got ${params.latencyP95Seconds}`);
  const apiLatencyP95Seconds = params.apiLatencyP95Seconds ?? DEFAULT_API_LATENCY_P95_SECONDS;
  if (!(Number.isFinite(apiLatencyP95Seconds) && apiLatencyP95Seconds > 0)) problems.push(`apiLatencyP95Seconds: expected a positive number of seconds, got ${apiLatencyP95Seconds}`);
  if (params.driftShareWarning > params.driftShareCritical) problems.push(`driftShareWarning (${params.driftShareWarning}) must not exceed driftShareCritical (${params.driftShareCritical})`);
  const names = new Set<string>();
  for (const m of params.models) {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(m.name)) problems.push(`models: "${m.name}" is not a model name (lower-case DNS label)`);
    if (names.has(m.name)) problems.push(`models: "${m.name}" is listed twice`);
    names.add(m.name);
    if (!(m.accuracyThreshold > 0 && m.accuracyThreshold <= 1)) problems.push(`models.${m.name}.accuracyThreshold: expected a number in (0, 1], got ${m.accuracyThreshold}`);
  }
  const durations: Record<AlertName, string> = { ...DEFAULT_FOR, ...(params.for ?? {}) };
  for (const [alert, d] of Object.entries(durations)) {
    if (!(ALERT_NAMES as readonly string[]).includes(alert)) problems.push(`for.${alert}: unknown alert; known: ${ALERT_NAMES.join(", ")}`);
    else if (!DURATION.test(d)) problems.push(`for.${alert}: "${d}" is not a Prometheus duration such as 30s, 2m or 1h`);
  }
  const qualityWindow = params.qualityWindow ?? "1h";
  const rateWindow = params.rateWindow ?? "5m";
  if (!DURATION.test(rateWindow)) problems.push(`rateWindow: "${rateWindow}" is not a Prometheus duration`);
  const qualityMinLabels = params.qualityMinLabels ?? 100;
  if (!Number.isInteger(qualityMinLabels) || qualityMinLabels < 1) problems.push(`qualityMinLabels: expected a positive integer, got ${qualityMinLabels}`);
  const runbookBaseUrl = params.runbookBaseUrl ?? RUNBOOK_DIR;
  // Prometheus expands {{ }} in annotations and labels: neither may carry template syntax or break a matcher.
  if (!/^[^\s{}"]+$/.test(runbookBaseUrl)) problems.push(`runbookBaseUrl: "${runbookBaseUrl}" is not a URL or path (no spaces, braces or quotes)`);
  if (params.team !== undefined && !TEAM_LABEL_VALUE.test(params.team)) problems.push(`team: "${params.team}" is not a label value for routing (letters, digits, spaces, . _ -)`);
  if (problems.length) throw new Error(`invalid alert rule parameters:\n  ${problems.join("\n  ")}`);
  return { ...params, apiLatencyP95Seconds, qualityWindow, rateWindow, qualityMinLabels, runbookBaseUrl, for: durations };
}

function percent(ratio: number): string {
  return `${Math.round(ratio * 10000) / 100}%`;
}
