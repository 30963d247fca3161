/**
 * Webhook notifications on a change of the dataset-drift verdict, delivered in the background with
 * services/common deliverWebhook (HMAC-SHA256 signature, retries with exponential backoff). Delivery never
 * blocks ingestion or evaluation; failures are counted. On shutdown, pending retries stop waiting and
 * run at once, so queued notifications still go out.
 *
 * Every delivery is signed: a notifier with URLs refuses to exist without a secret (WEBHOOK_SECRET is
 * required with WEBHOOK_URLS). A webhook URL often carries its receiver's token in its path or query, so
 * logs show it only as `redactUrl` does (scheme and host) plus its position in WEBHOOK_URLS.
 */
import { deliverWebhook, redactUrl, type Logger } from "@mlops/common";
import type { DriftReport } from "../drift/report";

export interface WebhookSettings {
  urls: string[];
  /** HMAC-SHA256 key of the signature header; required when there are URLs. */
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
  ) {
    if (settings.urls.length > 0 && !settings.secret) throw new Error("webhooks need WEBHOOK_SECRET: deliveries are always signed");
  }

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
    this.settings.urls.forEach((url, index) => {
      const delivery = deliverWebhook(payload, {
        url,
        secret: this.settings.secret,
        retries: this.settings.retries,
        backoffMs: this.settings.backoffMs,
        timeoutMs: this.settings.timeoutMs,
        sleep: this.sleep,
      }).then((result) => {
        this.onResult(result.delivered);
        const log = { webhook: index + 1, url: redactUrl(url), type: payload.type, attempts: result.attempts, status: result.status };
        if (result.delivered) this.logger.info(log, "webhook delivered");
        else this.logger.warn({ ...log, error: withoutUrl(result.error, url) }, "webhook delivery failed");
      });
      const tracked = delivery.finally(() => this.pending.delete(tracked));
      this.pending.add(tracked);
    });
  }

  /** Waits for queued deliveries, skipping the remaining backoff waits. */
  async drain(): Promise<void> {
    this.draining = true;
    for (const wake of [...this.wakers]) wake();
    await Promise.all([...this.pending]);
  }
}

/** A delivery error as a log may show it: the URL, should the error quote it, by its origin only. */
function withoutUrl(error: string | undefined, url: string): string | undefined {
  return error?.split(url).join(redactUrl(url));
}
