/**
 * Prometheus metrics of the monitor. The platform's names (common brief, alert rules, dashboards)
 * first; additions with the same prefix after them (listed in the README).
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

type QualityLabel = "model" | "version" | "variant" | "window";
const QUALITY_LABELS: QualityLabel[] = ["model", "version", "variant", "window"];

export class MonitorMetrics {
  readonly accuracy: Gauge<QualityLabel>;
  readonly precision: Gauge<QualityLabel>;
  readonly recall: Gauge<QualityLabel>;
  readonly f1: Gauge<QualityLabel>;
  readonly rocAuc: Gauge<QualityLabel>;
  readonly mae: Gauge<QualityLabel>;
  readonly rmse: Gauge<QualityLabel>;
  readonly labels: Gauge<QualityLabel>;
  readonly labelDelay: Gauge<QualityLabel>;
  readonly eventsIngested: Counter<"model">;
  readonly feedback: Counter<"result">;
  readonly alertActions: Counter<"action" | "result">;
  // additions
  readonly eventsDuplicate: Counter<"model">;
  readonly eventsExpired: Counter;
  readonly eventsRejected: Counter<"reason">;
  readonly requestsBusy: Counter<"kind">;
  readonly labelled: Counter<"source">;
  readonly batchDuration: Histogram<"kind">;
  readonly qualityRefreshDuration: Histogram;
  readonly qualityRefreshFailures: Counter;
  readonly qualityLastRefresh: Gauge;
  readonly retentionDroppedDays: Counter;
  readonly retentionDeletedFeedback: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    const quality = (name: string, help: string) => new Gauge({ name, help, labelNames: QUALITY_LABELS, registers });
    this.accuracy = quality("mlops_model_accuracy", "Share of labelled predictions in the window whose label was right");
    this.precision = quality("mlops_model_precision", "Precision of the positive class over the window (absent without predicted positives)");
    this.recall = quality("mlops_model_recall", "Recall of the positive class over the window (absent without actual positives)");
    this.f1 = quality("mlops_model_f1", "F1 score of the positive class over the window");
    this.rocAuc = quality("mlops_model_roc_auc", "ROC AUC of the score output over the window (absent unless both classes occur)");
    this.mae = quality("mlops_model_mae", "Mean absolute error of a regression model over the window");
    this.rmse = quality("mlops_model_rmse", "Root mean squared error of a regression model over the window");
    this.labels = quality("mlops_model_labels", "Labelled predictions (prediction + ground truth) in the window");
    this.labelDelay = quality("mlops_model_label_delay_seconds", "Mean time from a prediction to its ground truth, over the window");
    this.eventsIngested = new Counter({ name: "mlops_monitor_events_ingested_total", help: "Prediction events stored (committed)", labelNames: ["model"], registers });
    this.feedback = new Counter({ name: "mlops_monitor_feedback_total", help: "Ground-truth items received, by result (inserted, corrected, commented: the comment alone changed, unchanged)", labelNames: ["result"], registers });
    this.alertActions = new Counter({ name: "mlops_monitor_alert_actions_total", help: "Alert actions by action and result (succeeded, failed, skipped, duplicate)", labelNames: ["action", "result"], registers });
    this.eventsDuplicate = new Counter({ name: "mlops_monitor_events_duplicate_total", help: "Prediction events received again (already stored)", labelNames: ["model"], registers });
    this.eventsExpired = new Counter({ name: "mlops_monitor_events_expired_total", help: "Prediction events older than the retention period: acknowledged, not stored", registers });
    this.eventsRejected = new Counter({
      name: "mlops_monitor_events_rejected_total",
      help: "Prediction events refused, by reason: one by one (invalid_event, unknown_model) or with their whole request (invalid_json, batch_too_large...)",
      labelNames: ["reason"],
      registers,
    });
    this.requestsBusy = new Counter({ name: "mlops_monitor_requests_busy_total", help: "Requests answered 503 BUSY (MAX_CONCURRENT_BATCHES bodies in flight), by kind (events, feedback)", labelNames: ["kind"], registers });
    this.labelled = new Counter({ name: "mlops_monitor_labelled_total", help: "Predictions joined with their ground truth, by the side that arrived second", labelNames: ["source"], registers });
    this.batchDuration = new Histogram({
      name: "mlops_monitor_batch_duration_seconds",
      help: "Time to validate and commit one request (events or feedback)",
      labelNames: ["kind"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.qualityRefreshDuration = new Histogram({ name: "mlops_monitor_quality_refresh_duration_seconds", help: "Time to recompute every quality gauge", buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers });
    this.qualityRefreshFailures = new Counter({ name: "mlops_monitor_quality_refresh_failures_total", help: "Quality refreshes that failed (gauges keep their last values)", registers });
    this.qualityLastRefresh = new Gauge({ name: "mlops_monitor_quality_last_refresh_timestamp_seconds", help: "Unix time of the last successful quality refresh", registers });
    this.retentionDroppedDays = new Counter({ name: "mlops_monitor_retention_dropped_days_total", help: "Daily partitions dropped by retention", registers });
    this.retentionDeletedFeedback = new Counter({ name: "mlops_monitor_retention_deleted_feedback_total", help: "Feedback rows deleted by retention", registers });
  }

  /** The gauges of one quality metric name, for the refresher. */
  get qualityGauges(): Gauge<QualityLabel>[] {
    return [this.accuracy, this.precision, this.recall, this.f1, this.rocAuc, this.mae, this.rmse, this.labels, this.labelDelay];
  }
}
