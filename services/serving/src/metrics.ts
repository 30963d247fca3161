import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Sub-millisecond buckets: the demo model answers a single row in well under a millisecond. */
export const LATENCY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export type Protocol = "v2" | "mlflow" | "v1";

interface Series {
  labels: Record<string, string>;
  count: number;
}

/**
 * The serving metrics (names fixed by the platform's contract). Per-request counters are summed in
 * plain numbers and handed to prom-client when Prometheus scrapes (its `collect` hook): a prom-client
 * `inc` hashes its labels on every call, which at 20,000+ requests/s is measurable. The latency
 * histogram is observed directly through a cached child.
 */
export class ServingMetrics {
  readonly requests: Counter;
  readonly latency: Histogram;
  readonly rows: Counter;
  readonly modelInfo: Gauge;
  readonly modelLoaded: Gauge;
  readonly loadFailures: Counter;
  readonly registryErrors: Counter;
  readonly challengerWeight: Gauge;
  readonly queueDepth: Gauge;
  readonly eventsDropped: Counter;
  readonly eventsSent: Counter;
  private readonly requestSeries = new Map<string, { series: Series; latency: ReturnType<Histogram["labels"]>; rows: Series }>();
  private readonly rowSeries = new Map<string, Series>();

  constructor(registry: Registry) {
    const pendingRequests = () => [...this.requestSeries.values()].map((s) => s.series);
    const pendingRows = () => [...this.rowSeries.values()];
    this.requests = new Counter({
      name: "mlops_inference_requests_total",
      help: "Inference requests by model, version, variant, protocol and HTTP status.",
      labelNames: ["model", "version", "variant", "protocol", "status"],
      registers: [registry],
      collect() {
        flush(this, pendingRequests());
      },
    });
    this.latency = new Histogram({
      name: "mlops_inference_request_duration_seconds",
      help: "Time from a request's headers to its response, by model, version, variant and protocol.",
      labelNames: ["model", "version", "variant", "protocol"],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.rows = new Counter({
      name: "mlops_inference_rows_total",
      help: "Rows predicted, by model, version and variant (shadow included).",
      labelNames: ["model", "version", "variant"],
      registers: [registry],
      collect() {
        flush(this, pendingRows());
      },
    });
    this.modelInfo = new Gauge({ name: "mlops_model_info", help: "The model version each variant serves (always 1).", labelNames: ["model", "version", "variant", "uri"], registers: [registry] });
    this.modelLoaded = new Gauge({
      name: "mlops_serving_model_loaded",
      help: "1 when the variant (champion, challenger) has a model version serving, 0 while it waits for one (nothing registered yet, registry unreachable, first version refused).",
      labelNames: ["model", "variant"],
      registers: [registry],
    });
    this.loadFailures = new Counter({ name: "mlops_model_load_failures_total", help: "Model versions refused: download, sha256, load or warm-up failed.", labelNames: ["model", "variant"], registers: [registry] });
    this.registryErrors = new Counter({ name: "mlops_model_registry_errors_total", help: "Polls of the model registry that failed (the current version kept serving).", labelNames: ["model", "variant"], registers: [registry] });
    this.challengerWeight = new Gauge({
      name: "mlops_serving_challenger_weight_percent",
      help: "Percent of live requests the split sends to the challenger (the registry's mlops.challenger_weight tag, else CHALLENGER_WEIGHT; at most MAX_CHALLENGER_WEIGHT; 0 in shadow mode). Only with a challenger configured.",
      labelNames: ["model"],
      registers: [registry],
    });
    this.queueDepth = new Gauge({ name: "mlops_prediction_events_queue_depth", help: "Prediction events waiting to be sent, per sink.", labelNames: ["sink"], registers: [registry] });
    this.eventsDropped = new Counter({ name: "mlops_prediction_events_dropped_total", help: "Prediction events dropped, per sink and reason (queue_full, delivery_failed, refused, shutdown).", labelNames: ["sink", "reason"], registers: [registry] });
    this.eventsSent = new Counter({ name: "mlops_prediction_events_sent_total", help: "Prediction events a sink acknowledged.", labelNames: ["sink"], registers: [registry] });
  }

  /** One answered request (any status). */
  request(model: string, version: string, variant: string, protocol: Protocol, status: number, seconds: number, rows: number): void {
    const key = `${version}\u0000${variant}\u0000${protocol}\u0000${status}`;
    let s = this.requestSeries.get(key);
    if (!s) {
      s = {
        series: { labels: { model, version, variant, protocol, status: String(status) }, count: 0 },
        latency: this.latency.labels(model, version, variant, protocol),
        rows: this.rowsFor(model, version, variant),
      };
      this.requestSeries.set(key, s);
    }
    s.series.count++;
    s.latency.observe(seconds);
    if (rows) s.rows.count += rows;
  }

  /** Rows predicted outside a request's own answer (the shadow). */
  addRows(model: string, version: string, variant: string, rows: number): void {
    this.rowsFor(model, version, variant).count += rows;
  }

  private rowsFor(model: string, version: string, variant: string): Series {
    const key = `${version}\u0000${variant}`;
    let s = this.rowSeries.get(key);
    if (!s) this.rowSeries.set(key, (s = { labels: { model, version, variant }, count: 0 }));
    return s;
  }
}

function flush(counter: Counter, series: Series[]): void {
  for (const s of series) {
    // zero-valued series are created too, so a label set shows up as soon as it exists
    counter.inc(s.labels, s.count);
    s.count = 0;
  }
}
