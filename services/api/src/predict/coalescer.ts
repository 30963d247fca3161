/**
 * Dynamic batching of single-row predictions on their way to serving: the rows of one model that
 * arrive within the same event-loop turn go out as ONE Open Inference Protocol request, one
 * `parameters.prediction_ids` entry per row, and each caller gets its own row back.
 *
 *   const coalescer = new PredictionCoalescer(servingClient);
 *   const { answer, row } = await coalescer.predict("fraud-detector", features, { predictionId: "pred_1" });
 *   rowOutputs(answer, row)   // this caller's outputs; answer.version is the version that answered
 *
 * Why: every prediction through the API costs two HTTP exchanges (client -> API, API -> serving) where
 * serving alone costs one; with 16 callers in flight most of the API's CPU went into node's HTTP client
 * machinery and socket writes. Serving batches the same way internally (services/serving/src/model/
 * batcher.ts): no timer, the batch is sealed on setImmediate, so a lone request waits for nothing, and
 * a burst shares one exchange. A batch holds at most `maxRows` rows; the next row opens another.
 *
 * Rows are grouped by model AND routing key (x-routing-key): serving draws champion/challenger per
 * request, sticky per routing key, so rows of different keys must not share a request.
 *
 * Trade-off: serving's champion/challenger split is drawn per serving request, so coalesced rows share
 * one draw. Over many requests the split stays weight-proportional, but an independent draw per row is
 * lost: in a burst, neighbouring rows land on the same variant.
 *
 * Failures: a 422 of the combined request is about some row's input (a missing feature, serving's 400),
 * so it must not fail the others: the rows are then retried one by one and only the bad row fails, with
 * the same error it would have had alone. Anything else (serving unreachable, 5xx) fails every row of
 * the request with the same error, mapped as for a single row (serving-client.ts).
 */
import { ApiError } from "../http/errors";
import type { InferOptions, NamedFeatures, ServingAnswer } from "./serving-client";

export interface CoalescedAnswer {
  /** The combined request's answer (outputs of every row of it). */
  answer: ServingAnswer;
  /** This caller's row in `answer`. */
  row: number;
}

export interface RowRequest {
  /** The row's prediction id (serving's event, hence the monitor's row, carries it). */
  predictionId: string;
  /** Serving's sticky A/B key (x-routing-key). */
  routingKey?: string;
}

/** What the coalescer needs of the serving client. */
export interface NamedPredictor {
  predictNamed(model: string, rows: readonly NamedFeatures[], opts?: InferOptions): Promise<ServingAnswer>;
}

interface Pending {
  features: NamedFeatures;
  predictionId: string;
  resolve(a: CoalescedAnswer): void;
  reject(e: unknown): void;
}

interface Group {
  model: string;
  routingKey: string | undefined;
  rows: Pending[];
}

export const DEFAULT_MAX_COALESCED_ROWS = 64;

export class PredictionCoalescer {
  /** Open groups of this turn by `model \0 routingKey`. */
  private open = new Map<string, Group>();
  private scheduled = false;

  constructor(
    private readonly serving: NamedPredictor,
    private readonly maxRows = DEFAULT_MAX_COALESCED_ROWS,
  ) {}

  predict(model: string, features: NamedFeatures, req: RowRequest): Promise<CoalescedAnswer> {
    const key = req.routingKey === undefined ? model : `${model}\0${req.routingKey}`;
    let group = this.open.get(key);
    if (!group) this.open.set(key, (group = { model, routingKey: req.routingKey, rows: [] }));
    const promise = new Promise<CoalescedAnswer>((resolve, reject) => group!.rows.push({ features, predictionId: req.predictionId, resolve, reject }));
    if (group.rows.length >= this.maxRows) {
      this.open.delete(key);
      this.send(group);
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
    return promise;
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const groups = this.open;
    this.open = new Map();
    for (const group of groups.values()) this.send(group);
  };

  private send(group: Group): void {
    const { model, routingKey, rows } = group;
    const ids = rows.map((r) => r.predictionId);
    // The OIP request id only names the request; each row's event uses its prediction id.
    const opts: InferOptions = { id: rows.length === 1 ? ids[0] : `${ids[0]}+${rows.length - 1}`, predictionIds: ids, routingKey };
    this.serving.predictNamed(model, rows.map((r) => r.features), opts).then(
      (answer) => rows.forEach((r, i) => r.resolve({ answer, row: i })),
      (err) => {
        if (rows.length > 1 && isAboutInput(err)) for (const r of rows) this.sendAlone(model, routingKey, r);
        else for (const r of rows) r.reject(err);
      },
    );
  }

  private sendAlone(model: string, routingKey: string | undefined, r: Pending): void {
    this.serving.predictNamed(model, [r.features], { id: r.predictionId, predictionIds: [r.predictionId], routingKey }).then(
      (answer) => r.resolve({ answer, row: 0 }),
      r.reject,
    );
  }
}

/** A refusal of the request's features (the client's 422), as opposed to a failure of serving. */
function isAboutInput(err: unknown): boolean {
  return err instanceof ApiError && err.status === 422;
}
