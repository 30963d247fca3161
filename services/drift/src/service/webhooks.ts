/**
 * Webhook notifications on a change of the dataset-drift verdict, delivered in the background with
 * services/common deliverWebhook (HMAC-SHA256 signature, retries with exponential backoff). Delivery never
 * blocks ingestion or evaluation; failures are counted. On shutdown, pending retries stop waiting and
 * run at once, so queued notifications still go out.
 */
import { deliverWebhook, type Logger } from "@mlops/common";
import type { DriftReport } from "../drift/report";

export interface WebhookSettings {
  urls: string[];
  secret?: string;
  retries: number;
  backoffMs: number;
  timeoutMs: number;
}

export interface VerdictChange {
  type: "drift_detected" | "drift_resolved";
  model: string;
  occurredAt: string;
  datasetDrift: boolean;
  previousDatasetDrift: boolean | null;
  driftShare: number | null;
  driftShareThreshold: number;
  severity: string | null;
  driftedFeatures: { name: string; method: string | null; statistic: number | null; pValue: number | null; adjustedPValue: number | null; threshold: number | null }[];
  multivariateDrift: boolean | null;
  window: { rows: number; from?: string; to?: string };
  reference: DriftReport["reference"];
}

export function verdictChange(report: DriftReport, previous: boolean | null): VerdictChange {
  return {
    type: report.datasetDrift ? "drift_detected" : "drift_resolved",
    model: report.model ?? "",
    occurredAt: report.evaluatedAt,
    datasetDrift: report.datasetDrift === true,
    previousDatasetDrift: previous,
    driftShare: report.driftShare,
    driftShareThreshold: report.driftShareThreshold,
    severity: report.severity,
    driftedFeatures: report.features
      .filter((f) => f.drift)
      .map((f) => ({ name: f.name, method: f.method, statistic: f.statistic, pValue: f.pValue, adjustedPValue: f.adjustedPValue, threshold: f.threshold })),
    multivariateDrift: report.multivariate ? report.multivariate.drift : null,
    window: { rows: report.current.rows, ...(report.current.from ? { from: report.current.from, to: report.current.to } : {}) },
    reference: report.reference,
  };
}

export class WebhookNotifier {
  private readonly pending = new Set<Promise<void>>();
  private draining = false;
  private readonly wakers = new Set<() => void>();

  constructor(
    private readonly settings: WebhookSettings,
    private readonly logger: Logger,
    private readonly onResult: (delivered: boolean) => void,
  ) {}

  get enabled(): boolean {
    return this.settings.urls.length > 0;
  }

  /** Backoff that a shutdown cuts short. */
  private sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (this.draining) return resolve();
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wakers.delete(done);
        resolve();
      }
      this.wakers.add(done);
    });

  notify(payload: VerdictChange): void {
    for (const url of this.settings.urls) {
      const delivery = deliverWebhook(payload, {
        url,
        secret: this.settings.secret,
        retries: this.settings.retries,
        backoffMs: this.settings.backoffMs,
        timeoutMs: this.settings.timeoutMs,
        sleep: this.sleep,
      }).then((result) => {
        this.onResult(result.delivered);
        const log = { url, type: payload.type, attempts: result.attempts, status: result.status };
        if (result.delivered) this.logger.info(log, "webhook delivered");
        else this.logger.warn({ ...log, error: result.error }, "webhook delivery failed");
      });
      const tracked = delivery.finally(() => this.pending.delete(tracked));
      this.pending.add(tracked);
    }
  }

  /** Waits for queued deliveries, skipping the remaining backoff waits. */
  async drain(): Promise<void> {
    this.draining = true;
    for (const wake of [...this.wakers]) wake();
    await Promise.all([...this.pending]);
  }
}
