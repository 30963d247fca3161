import { EVENTS_PATH, RepeatFilter, bearerHeader, predictionId, type Logger, type PredictionEvent, type Variant } from "@mlops/common";
import type { InferenceContext } from "./data-plane";
import type { LoadedModel } from "./model/loaded-model";
import type { ServingMetrics } from "./metrics";
import { rowOutputs } from "./protocols/outputs";
import type { OutputArray, Prediction } from "./signature";

/**
 * The event serving sends: the shared contract (common/events.ts), whose `client` is the name of the API
 * key that asked (API_KEYS_FILE; the key itself never leaves the auth check), absent without keys.
 */
export type ServingEvent = PredictionEvent;

/** Where one sink is, and the bearer token it expects on POST /v1/events (EVENT_SINK_TOKENS). */
export interface SinkTarget {
  url: string;
  token: string;
}

/**
 * One answered request as it waits for the sinks: copies of its input rows and outputs, nothing more.
 * The event objects of the contract (common/events.ts) are only built when a batch is sent, so the
 * request path pays for two small copies, and nothing at all when the queues are full.
 */
interface EventRecord {
  model: LoadedModel;
  variant: Variant;
  requestId: string;
  /** The API key's name, when keys are on. */
  client: string | undefined;
  /** The client's id per row, when it named them; else `<requestId>:<row>`. */
  predictionIds: readonly string[] | undefined;
  timestamp: string;
  features: Float32Array;
  outputs: OutputArray[];
}

interface Chunk {
  record: EventRecord;
  from: number;
  to: number;
}

export interface EventOptions {
  sinks: SinkTarget[];
  sampleRate: number;
  batchSize: number;
  queueSize: number;
  flushMs: number;
  retries: number;
  backoffMs: number;
  /** The name in the events (MODEL_NAME). */
  modelName: string;
  metrics: ServingMetrics;
  logger: Logger;
}

/** Samples answered requests and hands them to every sink's queue. */
export class EventPublisher {
  readonly sinks: EventSink[];

  constructor(private readonly opts: EventOptions) {
    this.sinks = opts.sinks.map((target) => new EventSink(target, opts));
  }

  get enabled(): boolean {
    return this.sinks.length > 0;
  }

  /** Whether this request's events are sent (per request: all its rows or none). */
  sample(): boolean {
    return this.sinks.length > 0 && (this.opts.sampleRate >= 1 || Math.random() < this.opts.sampleRate);
  }

  /** Queues the rows of one answered request; `features` (its rows in feature order) is kept, not copied. */
  publish(model: LoadedModel, variant: Variant, ctx: Pick<InferenceContext, "requestId" | "client" | "predictionIds">, features: Float32Array, p: Prediction): void {
    const rows = p.rows;
    if (!this.sinks.some((s) => s.room > 0)) {
      for (const sink of this.sinks) sink.drop(rows, "queue_full");
      return;
    }
    const record: EventRecord = {
      model,
      variant,
      requestId: ctx.requestId,
      client: ctx.client,
      predictionIds: ctx.predictionIds,
      timestamp: new Date().toISOString(),
      features,
      outputs: p.outputs.map((data, k) => {
        const w = model.signature.outputs[k].width;
        return data.slice(p.offset * w, (p.offset + rows) * w) as OutputArray;
      }),
    };
    for (const sink of this.sinks) sink.offer(record, rows);
  }

  /** SIGTERM: everything queued is sent (with retries) before the process exits. */
  async close(): Promise<void> {
    await Promise.all(this.sinks.map((s) => s.close()));
  }
}

/**
 * One sink (the model's drift detector, the monitor): a bounded queue of events, sent in batches of up
 * to `batchSize` as `{"events": [...]}` to `<url>/v1/events`, one batch at a time, every `flushMs` or as
 * soon as a batch is full. A batch is retried (exponential backoff) until the sink answers 2xx; after
 * `retries` retries it is dropped and counted. A full queue drops new events and counts them: inference
 * never waits for a sink. A sink that keeps refusing (a drift detector still waiting for its reference
 * answers 503) is logged once per distinct reason and once when it accepts again, not at every batch.
 *
 * Every POST carries the sink's own bearer token: drift and the monitor refuse events from anyone else.
 * A sink may refuse single events of an accepted batch (its answer lists them in `refused`); those are
 * counted as dropped with reason `refused` and logged once per distinct reason, the others as sent.
 */
export class EventSink {
  private readonly queue: Chunk[] = [];
  private depth = 0;
  private sending?: Promise<void>;
  private readonly timer: NodeJS.Timeout;
  private closing = false;
  private readonly endpoint: string;
  private readonly headers: Record<string, string>;
  private readonly retryLog = new RepeatFilter();
  private readonly dropLog = new RepeatFilter();
  private readonly refusedLog = new RepeatFilter();
  readonly url: string;

  constructor(
    target: SinkTarget,
    private readonly opts: EventOptions,
  ) {
    const url = target.url;
    this.url = url;
    this.endpoint = `${url.replace(/\/+$/, "")}${EVENTS_PATH}`;
    this.headers = { "content-type": "application/json", authorization: bearerHeader(target.token) };
    this.timer = setInterval(() => void this.flush(), opts.flushMs);
    this.timer.unref();
    opts.metrics.queueDepth.labels(url).set(0);
    opts.metrics.eventsSent.labels(url).inc(0);
    opts.metrics.eventsDropped.labels(url, "queue_full").inc(0);
  }

  /** Events the queue can still take. */
  get room(): number {
    return this.closing ? 0 : this.opts.queueSize - this.depth;
  }

  get queued(): number {
    return this.depth;
  }

  offer(record: EventRecord, rows: number): void {
    const accepted = Math.min(rows, this.room);
    if (accepted < rows) this.drop(rows - accepted, this.closing ? "shutdown" : "queue_full");
    if (accepted === 0) return;
    this.queue.push({ record, from: 0, to: accepted });
    this.depth += accepted;
    this.opts.metrics.queueDepth.labels(this.url).set(this.depth);
    if (this.depth >= this.opts.batchSize && !this.sending) setImmediate(() => void this.flush());
  }

  drop(events: number, reason: string): void {
    this.opts.metrics.eventsDropped.labels(this.url, reason).inc(events);
  }

  /** Sends what is queued, batch after batch; concurrent calls share the one sender. */
  flush(): Promise<void> {
    if (!this.sending && this.depth > 0) {
      this.sending = this.sendAll()
        .catch((err) => this.opts.logger.error({ err, sink: this.url }, "event sender failed"))
        .finally(() => (this.sending = undefined));
    }
    return this.sending ?? Promise.resolve();
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.timer);
    while (this.depth > 0 || this.sending) await this.flush();
  }

  private async sendAll(): Promise<void> {
    while (this.depth > 0) {
      const events = this.takeBatch();
      this.opts.metrics.queueDepth.labels(this.url).set(this.depth);
      const result = await this.deliver(JSON.stringify({ events }));
      if (typeof result === "object") {
        const refused = Math.min(result.refused.length, events.length);
        this.opts.metrics.eventsSent.labels(this.url).inc(events.length - refused);
        if (refused > 0) this.refusedEvents(refused, result.refused);
      } else {
        this.drop(events.length, "delivery_failed");
        if (this.dropLog.isNew(result)) {
          this.opts.logger.error({ sink: this.url, events: events.length, reason: result }, "event sink did not accept a batch after retries; events dropped (further drops for the same reason are only counted)");
        }
      }
    }
  }

  private takeBatch(): ServingEvent[] {
    const events: ServingEvent[] = [];
    while (events.length < this.opts.batchSize && this.queue.length) {
      const chunk = this.queue[0];
      const { record } = chunk;
      const { width, featureNames: names } = record.model.signature;
      while (chunk.from < chunk.to && events.length < this.opts.batchSize) {
        const r = chunk.from++;
        const features: Record<string, number | null> = {};
        for (let j = 0; j < width; j++) {
          const v = record.features[r * width + j];
          features[names[j]] = Number.isFinite(v) ? v : null;
        }
        const event: ServingEvent = {
          id: record.predictionIds?.[r] ?? predictionId(record.requestId, r),
          requestId: record.requestId,
          model: this.opts.modelName,
          version: record.model.version,
          variant: record.variant,
          timestamp: record.timestamp,
          features,
          outputs: rowOutputs(record.model.signature, record.outputs, r) as PredictionEvent["outputs"],
        };
        if (record.client !== undefined) event.client = record.client;
        events.push(event);
        this.depth--;
      }
      if (chunk.from === chunk.to) this.queue.shift();
    }
    return events;
  }

  /** Events the sink refused one by one (a bad request id, a value its reference does not take). */
  private refusedEvents(count: number, refused: unknown[]): void {
    this.drop(count, "refused");
    const first = refused[0] as { error?: unknown } | undefined;
    const reason = typeof first?.error === "string" ? first.error.slice(0, 200) : "(no reason given)";
    if (this.refusedLog.isNew(reason)) {
      this.opts.logger.warn({ sink: this.url, refused: count, reason }, "event sink refused events of a batch; the others were accepted (further refusals for the same reason are only counted)");
    }
  }

  /** The sink's answer to an accepted batch (the events it refused), or why the batch was not accepted. */
  private async deliver(body: string): Promise<{ refused: unknown[] } | string> {
    let reason = "";
    for (let attempt = 0; attempt <= this.opts.retries; attempt++) {
      if (attempt > 0) await sleep(this.opts.backoffMs * 2 ** (attempt - 1));
      try {
        const res = await fetch(this.endpoint, { method: "POST", headers: this.headers, body, signal: AbortSignal.timeout(10_000) });
        const text = await res.text();
        if (res.ok) {
          this.recovered();
          return { refused: refusedIn(text) };
        }
        reason = `HTTP ${res.status}: ${text.slice(0, 200)}`;
      } catch (err) {
        reason = (err as Error).message;
      }
      const newReason = this.retryLog.isNew(reason);
      if (attempt < this.opts.retries && newReason) this.opts.logger.warn({ sink: this.url, attempt: attempt + 1, reason }, "event batch not accepted; retrying (the same reason is not logged again until the sink accepts a batch)");
    }
    return reason;
  }

  /** The sink accepts batches again: one line closes the failures logged once. */
  private recovered(): void {
    const failedAttempts = this.retryLog.reset();
    const droppedBatches = this.dropLog.reset();
    if (failedAttempts > 0 || droppedBatches > 0) this.opts.logger.info({ sink: this.url, failedAttempts, droppedBatches }, "event sink accepts batches again");
  }
}

/** The `refused` list of a sink's 2xx answer (`{"accepted": n, "refused": [{index, id, error}]}`); none when absent. */
function refusedIn(answer: string): unknown[] {
  if (!answer.includes('"refused"')) return NO_REFUSALS;
  try {
    const doc = JSON.parse(answer) as { refused?: unknown };
    return Array.isArray(doc.refused) ? doc.refused : NO_REFUSALS;
  } catch {
    return NO_REFUSALS;
  }
}

const NO_REFUSALS: unknown[] = [];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
