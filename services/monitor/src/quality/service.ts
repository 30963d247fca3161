/**
 * Quality on demand (GET /v1/models/<name>/quality?window=) and as Prometheus gauges, recomputed
 * every QUALITY_REFRESH_S for every configured model (the only ones whose events are accepted) and every window.
 */
import { HttpError, type Logger } from "@mlops/common";
import type { Pool } from "pg";
import { parseDuration, type QualityWindow } from "../config/duration";
import type { ModelsConfig } from "../config/models";
import { configuredModel } from "../http/params";
import type { MonitorMetrics } from "../metrics";
import { qualityOf, type VariantQuality } from "./query";

export interface QualityReport {
  model: string;
  task: string;
  window: string;
  windowSeconds: number;
  /** Predictions made from `from` to `to` (ISO), joined with their ground truth. */
  from: string;
  to: string;
  positiveClass?: string;
  variants: VariantQuality[];
}

type Sample = { labels: { model: string; version: string; variant: string; window: string }; values: (number | null | undefined)[] };

export class QualityService {
  private refreshing?: Promise<void>;

  constructor(
    private readonly pool: Pool,
    private readonly models: ModelsConfig,
    readonly windows: QualityWindow[],
    private readonly maxWindowSeconds: number,
    private readonly metrics: MonitorMetrics,
    private readonly logger: Logger,
  ) {}

  /** The configured models: the monitor accepts events of these only, so no request adds series. */
  knownModels(): string[] {
    return [...this.models.names].sort();
  }

  async report(model: string, windowText?: string | null): Promise<QualityReport> {
    const window = this.windowOf(windowText);
    const spec = configuredModel(this.models, model);
    const to = new Date();
    const variants = await qualityOf(this.pool, model, spec, window.seconds);
    return {
      model,
      task: spec.task,
      window: window.name,
      windowSeconds: window.seconds,
      from: new Date(to.getTime() - window.seconds * 1000).toISOString(),
      to: to.toISOString(),
      ...(spec.task === "classification" ? { positiveClass: spec.positiveClass } : {}),
      variants,
    };
  }

  private windowOf(text?: string | null): QualityWindow {
    if (!text) return this.windows[0];
    const seconds = parseDuration(text);
    if (seconds === undefined) throw new HttpError(400, "INVALID_WINDOW", `window "${text}" is not a duration; expected e.g. ${this.windows.map((w) => w.name).join(", ")}`);
    if (seconds > this.maxWindowSeconds) throw new HttpError(400, "INVALID_WINDOW", `window "${text}" is longer than the retention period (${this.maxWindowSeconds / 86_400} days)`);
    return { name: text, seconds };
  }

  /** Recomputes every gauge; concurrent calls share one run. */
  refresh(): Promise<void> {
    return (this.refreshing ??= this.refreshOnce().finally(() => (this.refreshing = undefined)));
  }

  private async refreshOnce(): Promise<void> {
    const end = this.metrics.qualityRefreshDuration.startTimer();
    try {
      const samples: Sample[] = [];
      for (const model of this.knownModels()) {
        const spec = this.models.get(model);
        for (const window of this.windows) {
          for (const q of await qualityOf(this.pool, model, spec, window.seconds)) {
            samples.push({
              labels: { model, version: q.version, variant: q.variant, window: window.name },
              values: [q.accuracy, q.precision, q.recall, q.f1, q.rocAuc, q.mae, q.rmse, q.labels, q.meanLabelDelaySeconds],
            });
          }
        }
      }
      // Replace all series at once (no await in between, so no scrape sees a half-updated set); a
      // version that left every window disappears instead of keeping its last value forever.
      const gauges = this.metrics.qualityGauges;
      for (const g of gauges) g.reset();
      for (const s of samples) {
        s.values.forEach((v, i) => {
          if (typeof v === "number" && Number.isFinite(v)) gauges[i].set(s.labels, v);
        });
      }
      this.metrics.qualityLastRefresh.set(Date.now() / 1000);
    } catch (err) {
      this.metrics.qualityRefreshFailures.inc();
      this.logger.error({ err: (err as Error).message }, "quality refresh failed; the gauges keep their last values");
      throw err;
    } finally {
      end();
    }
  }
}
