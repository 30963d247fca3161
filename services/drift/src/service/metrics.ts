/**
 * Prometheus metrics of the drift detector. Names required by the platform (README, alert rules,
 * dashboards) first; the rest are additions with the same prefix.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { P_VALUE_METHODS, type MethodName } from "../drift/config";
import type { ColumnResult, DriftReport } from "../drift/report";

const SEVERITY_LEVEL = { none: 0, low: 1, medium: 2, high: 3, critical: 4 } as const;

export class DriftMetrics {
  readonly score: Gauge<"model" | "feature" | "method">;
  readonly detected: Gauge<"model" | "feature">;
  readonly share: Gauge<"model">;
  readonly datasetDrift: Gauge<"model">;
  readonly windowRows: Gauge<"model">;
  readonly ingested: Counter<"model">;
  readonly rejected: Counter<"model" | "reason">;
  readonly webhookFailures: Counter<"model">;
  readonly evaluationDuration: Histogram<"model">;
  // additions
  readonly pValue: Gauge<"model" | "feature" | "method">;
  readonly severity: Gauge<"model">;
  readonly skipped: Counter<"model" | "reason">;
  readonly webhooksSent: Counter<"model">;
  readonly evaluations: Counter<"model" | "status">;
  readonly multivariateError: Gauge<"model">;
  readonly multivariateDetected: Gauge<"model">;
  readonly lastEvaluation: Gauge<"model">;
  readonly referenceInfo: Gauge<"model" | "uri" | "created">;
  readonly referenceLoaded: Gauge<"model">;

  constructor(
    registry: Registry,
    private readonly model: string,
  ) {
    const registers = [registry];
    this.score = new Gauge({ name: "mlops_drift_score", help: "Drift score per feature and method (KS D, chi-square X^2, or the distance; higher = more drift)", labelNames: ["model", "feature", "method"], registers });
    this.detected = new Gauge({ name: "mlops_drift_detected", help: "1 when the feature drifted in the last evaluation, 0 when not (absent without a verdict)", labelNames: ["model", "feature"], registers });
    this.share = new Gauge({ name: "mlops_drift_share", help: "Share of drifted features in the last evaluation", labelNames: ["model"], registers });
    this.datasetDrift = new Gauge({ name: "mlops_drift_dataset_drift", help: "1 when the drifted share reached the dataset-drift threshold", labelNames: ["model"], registers });
    this.windowRows = new Gauge({ name: "mlops_drift_window_rows", help: "Rows in the live window", labelNames: ["model"], registers });
    this.ingested = new Counter({ name: "mlops_drift_events_ingested_total", help: "Prediction events added to the window", labelNames: ["model"], registers });
    this.rejected = new Counter({ name: "mlops_drift_events_rejected_total", help: "Prediction events refused: each refused event, or every event of a refused body, by reason", labelNames: ["model", "reason"], registers });
    this.webhookFailures = new Counter({ name: "mlops_drift_webhook_failures_total", help: "Webhook deliveries that failed after all retries", labelNames: ["model"], registers });
    this.evaluationDuration = new Histogram({
      name: "mlops_drift_evaluation_duration_seconds",
      help: "Time to evaluate the window against the reference",
      labelNames: ["model"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.pValue = new Gauge({ name: "mlops_drift_p_value", help: "p-value per feature of the tests (KS, chi-square), before correction", labelNames: ["model", "feature", "method"], registers });
    this.severity = new Gauge({ name: "mlops_drift_severity", help: "Severity of the drifted share: 0 none, 1 low, 2 medium, 3 high, 4 critical", labelNames: ["model"], registers });
    this.skipped = new Counter({ name: "mlops_drift_events_skipped_total", help: "Valid events not added to the window (variant not watched)", labelNames: ["model", "reason"], registers });
    this.webhooksSent = new Counter({ name: "mlops_drift_webhooks_sent_total", help: "Webhook deliveries that succeeded", labelNames: ["model"], registers });
    this.evaluations = new Counter({ name: "mlops_drift_evaluations_total", help: "Window evaluations by outcome (ok, insufficient_data, error)", labelNames: ["model", "status"], registers });
    this.multivariateError = new Gauge({ name: "mlops_drift_multivariate_error", help: "Mean PCA reconstruction error of the window", labelNames: ["model"], registers });
    this.multivariateDetected = new Gauge({ name: "mlops_drift_multivariate_detected", help: "1 when the PCA reconstruction error left its reference band", labelNames: ["model"], registers });
    this.lastEvaluation = new Gauge({ name: "mlops_drift_last_evaluation_timestamp_seconds", help: "Unix time of the last evaluation", labelNames: ["model"], registers });
    this.referenceInfo = new Gauge({ name: "mlops_drift_reference_info", help: "The reference profile in use (value 1)", labelNames: ["model", "uri", "created"], registers });
    this.referenceLoaded = new Gauge({ name: "mlops_drift_reference_loaded", help: "1 once the reference profile is loaded, 0 while the detector waits for it (not ready)", labelNames: ["model"], registers });
    this.referenceLoaded.set({ model }, 0);
    this.windowRows.set({ model }, 0);
    for (const m of [this.ingested, this.webhookFailures, this.webhooksSent]) m.inc({ model }, 0);
  }

  setReference(uri: string, created: string): void {
    this.referenceInfo.reset();
    this.referenceInfo.set({ model: this.model, uri, created }, 1);
    this.referenceLoaded.set({ model: this.model }, 1);
  }

  /** Publishes a report; without a verdict the per-feature and dataset series are removed, not zeroed. */
  publish(report: DriftReport, durationSeconds: number): void {
    const model = this.model;
    this.evaluationDuration.observe({ model }, durationSeconds);
    this.evaluations.inc({ model, status: report.status });
    this.lastEvaluation.set({ model }, Date.parse(report.evaluatedAt) / 1000);
    for (const g of [this.score, this.detected, this.pValue, this.share, this.datasetDrift, this.severity, this.multivariateError, this.multivariateDetected]) g.reset();
    for (const r of [...report.features, ...report.outputs]) this.publishColumn(r);
    if (report.status === "ok" && report.driftShare !== null) {
      this.share.set({ model }, report.driftShare);
      this.datasetDrift.set({ model }, report.datasetDrift ? 1 : 0);
      this.severity.set({ model }, SEVERITY_LEVEL[report.severity ?? "none"]);
    }
    if (report.multivariate) {
      this.multivariateError.set({ model }, report.multivariate.error);
      this.multivariateDetected.set({ model }, report.multivariate.drift ? 1 : 0);
    }
  }

  private publishColumn(r: ColumnResult): void {
    if (r.status !== "ok") return;
    const base = { model: this.model, feature: r.name };
    this.detected.set(base, r.drift ? 1 : 0);
    const s = r.scores;
    const put = (method: MethodName, value: number | undefined) => {
      if (value !== undefined && Number.isFinite(value)) this.score.set({ ...base, method }, value);
    };
    put("ks", s.ks?.statistic);
    put("wasserstein", s.wasserstein?.normalized);
    put("psi", s.psi);
    put("jensenshannon", s.jensenshannon);
    put("hellinger", s.hellinger);
    put("chisquare", s.chisquare?.statistic);
    for (const method of P_VALUE_METHODS) {
      const p = method === "ks" ? s.ks?.pValue : s.chisquare?.pValue;
      if (p !== undefined) this.pValue.set({ ...base, method }, p);
    }
  }
}
