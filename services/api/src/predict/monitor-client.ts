/**
 * The API's client of the monitor (MONITOR_URL): stored predictions with their ground truth, read with
 * MONITOR_READ_TOKEN, and ground truth sent with MONITOR_FEEDBACK_TOKEN.
 *
 *   const monitor = new MonitorClient({ url: env.MONITOR_URL, readToken: env.MONITOR_READ_TOKEN, feedbackToken: env.MONITOR_FEEDBACK_TOKEN });
 *   await monitor.listPredictions("fraud-detector", { start, end, limit: 100, offset: 0 });
 *   await monitor.getPrediction("pred_1:0");                      // undefined: not (yet) stored
 *   await monitor.sendFeedback({ prediction_id: "pred_1:0", actual: 1, comment: "chargeback" });
 *
 * The monitor's answers become the seed's errors: unreachable or busy 503 MONITOR_UNAVAILABLE, a model
 * it does not know 404 MODEL_NOT_FOUND, a refused item 422 VALIDATION_ERROR with its message, any other
 * failure 502 MONITOR_FAILED.
 */
import { ApiError, modelNotFound } from "../http/errors";
import { Upstream, UpstreamUnavailable, upstreamCode, upstreamMessage, type UpstreamAnswer } from "./upstream";

export interface MonitorClientOptions {
  url: string;
  readToken: string;
  feedbackToken: string;
  timeoutMs?: number;
}

/** One stored prediction as the monitor lists it. */
export interface MonitorPrediction {
  prediction_id: string;
  timestamp: string;
  version: string;
  variant: string;
  features: Record<string, unknown> | null;
  outputs: Record<string, unknown> | null;
  predicted: string | null;
  predicted_value?: number | null;
  score?: number | null;
  actual: string | null;
  actual_value?: number | null;
  feedback: string | null;
}

export interface MonitorPredictionPage {
  total: number;
  predictions: MonitorPrediction[];
  labelled: number;
  accuracy: number | null;
}

export interface PredictionQuery {
  start?: string;
  end?: string;
  limit: number;
  offset: number;
}

export interface FeedbackItem {
  prediction_id: string;
  actual: string | number | boolean;
  comment?: string;
}

export interface FeedbackReceipt {
  received: number;
  inserted: number;
  corrected: number;
  /** Same label, another comment. */
  commented: number;
  unchanged: number;
  /** Labels that met their prediction with this call. */
  labelled: number;
}

export class MonitorClient {
  private readonly upstream: Upstream;
  private readonly base: string;

  constructor(private readonly opts: MonitorClientOptions) {
    this.base = opts.url.replace(/\/+$/, "");
    this.upstream = new Upstream({ service: "the monitor", timeoutMs: opts.timeoutMs ?? 10_000, maxSockets: 16 });
  }

  async listPredictions(model: string, q: PredictionQuery): Promise<MonitorPredictionPage> {
    const query = new URLSearchParams({ limit: String(q.limit), offset: String(q.offset) });
    if (q.start) query.set("start", q.start);
    if (q.end) query.set("end", q.end);
    const answer = await this.send("GET", `/v1/models/${encodeURIComponent(model)}/predictions?${query}`, this.opts.readToken);
    if (answer.status === 404) throw modelNotFound(model);
    if (answer.status !== 200) throw failure(answer, `listing the predictions of ${model}`, "query");
    return answer.body as MonitorPredictionPage;
  }

  /** The stored prediction, or undefined when the monitor has not received it (yet). */
  async getPrediction(id: string): Promise<MonitorPrediction | undefined> {
    const answer = await this.send("GET", `/v1/predictions/${encodeURIComponent(id)}`, this.opts.readToken);
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw failure(answer, `reading prediction ${id}`);
    return answer.body as MonitorPrediction;
  }

  /** One item, or many as one batch of the monitor (a later item of the same id wins). */
  async sendFeedback(items: FeedbackItem | readonly FeedbackItem[]): Promise<FeedbackReceipt> {
    const answer = await this.send("POST", "/v1/feedback", this.opts.feedbackToken, JSON.stringify(items));
    if (answer.status !== 200) throw failure(answer, Array.isArray(items) ? `recording ${items.length} ground truths` : `recording the ground truth of ${(items as FeedbackItem).prediction_id}`);
    return answer.body as FeedbackReceipt;
  }

  close(): void {
    this.upstream.close();
  }

  private async send(method: string, path: string, token: string, body?: string): Promise<UpstreamAnswer> {
    try {
      return await this.upstream.call(`${this.base}${path}`, { method, headers: { authorization: `Bearer ${token}` }, body });
    } catch (err) {
      if (err instanceof UpstreamUnavailable) throw monitorUnavailable(err.reason);
      throw err;
    }
  }
}

export const monitorUnavailable = (reason: string) =>
  new ApiError(503, "MONITOR_UNAVAILABLE", `the monitor is unavailable: ${reason}`, { upstream: "monitor" }, { "retry-after": "5" });

function failure(answer: UpstreamAnswer, what: string, loc = "body"): ApiError {
  const message = upstreamMessage(answer.body);
  const details = { upstream: "monitor", upstream_status: answer.status, upstream_code: upstreamCode(answer.body) ?? null };
  if (answer.status === 400) return new ApiError(422, "VALIDATION_ERROR", `the monitor refused ${what}: ${message}`, { ...details, errors: [{ loc, message }] });
  if (answer.status === 503) return new ApiError(503, "MONITOR_UNAVAILABLE", `the monitor cannot answer now (${what}): ${message}`, details, { "retry-after": "5" });
  return new ApiError(502, "MONITOR_FAILED", `the monitor failed ${what} (${answer.status}): ${message}`, details);
}
