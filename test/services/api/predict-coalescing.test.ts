/**
 * Coalesced single-row predictions (services/api/src/predict/coalescer.ts) against the real chain:
 * real serving with the demo model, its events to the real monitor on real PostgreSQL. The serving
 * client is wrapped only to count the requests it sends; every answer is serving's own.
 */
import { FEATURES } from "@mlops/dev-fixtures";
import { ApiError } from "../../../services/api/src/http/errors";
import { PredictionCoalescer, type CoalescedAnswer, type NamedPredictor } from "../../../services/api/src/predict/coalescer";
import { outcomeOf } from "../../../services/api/src/predict/outcome";
import { rowOutputs, ServingClient, type InferOptions, type NamedFeatures } from "../../../services/api/src/predict/serving-client";
import { expectedProbability, waitFor } from "../serving/support";
import { call, features, MODEL, usePredictStack } from "./predict-support";

const stack = usePredictStack("api_coalesce");

/** The real client, with a record of each request it sends (rows and options). */
function counting(client: NamedPredictor): NamedPredictor & { sent: { rows: number; opts: InferOptions }[] } {
  const sent: { rows: number; opts: InferOptions }[] = [];
  return {
    sent,
    predictNamed(model: string, rows: readonly NamedFeatures[], opts?: InferOptions) {
      sent.push({ rows: rows.length, opts: opts ?? {} });
      return client.predictNamed(model, rows, opts);
    },
  };
}

const positiveOf = (row: Record<string, number>) => expectedProbability(FEATURES.map((f) => row[f]));
/** The model's probability of the predicted class for `row`, as the route answers it. */
const expectedTop = (row: Record<string, number>) => Math.max(positiveOf(row), 1 - positiveOf(row));
/** The predicted class's probability in a caller's row of a coalesced answer. */
const answeredTop = ({ answer, row }: CoalescedAnswer) => outcomeOf(rowOutputs(answer, row), undefined).probability;

describe("PredictionCoalescer", () => {
  test("rows of one turn go out as one request, each caller gets its own row and its id reaches the monitor", async () => {
    const serving = counting(stack.servingClient);
    const coalescer = new PredictionCoalescer(serving);
    const rows = Array.from({ length: 12 }, (_, i) => features(100 + i));
    const ids = rows.map((_, i) => `coalesced-${Date.now()}-${i}`);
    const answers = await Promise.all(rows.map((row, i) => coalescer.predict(MODEL, row, { predictionId: ids[i] })));

    expect(serving.sent).toEqual([{ rows: 12, opts: { id: `${ids[0]}+11`, predictionIds: ids, routingKey: undefined } }]);
    answers.forEach(({ answer, row }, i) => {
      expect(row).toBe(i);
      expect(answer.version).toBe("1");
      expect(answeredTop({ answer, row })).toBeCloseTo(expectedTop(rows[i]), 4);
    });
    // Serving's events carry each caller's own prediction id.
    for (const id of ids) await waitFor(async () => (await stack.monitorClient.getPrediction(id)) !== undefined, `prediction ${id} in the monitor`);
  });

  test("a lone row is sent under its own prediction id", async () => {
    const serving = counting(stack.servingClient);
    const { answer, row } = await new PredictionCoalescer(serving).predict(MODEL, features(5), { predictionId: "lone-1" });
    expect(row).toBe(0);
    expect(answer.rows).toBe(1);
    expect(serving.sent).toEqual([{ rows: 1, opts: { id: "lone-1", predictionIds: ["lone-1"], routingKey: undefined } }]);
  });

  test("a batch holds at most maxRows rows; routing keys never share a request", async () => {
    const serving = counting(stack.servingClient);
    const coalescer = new PredictionCoalescer(serving, 4);
    const calls = [
      ...Array.from({ length: 10 }, (_, i) => coalescer.predict(MODEL, features(200 + i), { predictionId: `max-${i}` })),
      coalescer.predict(MODEL, features(300), { predictionId: "keyed-a", routingKey: "customer-a" }),
      coalescer.predict(MODEL, features(301), { predictionId: "keyed-b", routingKey: "customer-b" }),
    ];
    await Promise.all(calls);
    expect(serving.sent.map((s) => [s.rows, s.opts.routingKey])).toEqual([
      [4, undefined],
      [4, undefined],
      [2, undefined],
      [1, "customer-a"],
      [1, "customer-b"],
    ]);
  });

  test("a bad row fails alone: the others of its turn are answered", async () => {
    const serving = counting(stack.servingClient);
    const coalescer = new PredictionCoalescer(serving);
    const good = [features(400), features(401)];
    const { v1: _dropped, ...missingV1 } = features(402);
    const results = await Promise.allSettled([
      coalescer.predict(MODEL, good[0], { predictionId: "mixed-0" }),
      coalescer.predict(MODEL, missingV1, { predictionId: "mixed-bad" }),
      coalescer.predict(MODEL, good[1], { predictionId: "mixed-2" }),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    for (const i of [0, 2]) {
      expect(answeredTop((results[i] as PromiseFulfilledResult<CoalescedAnswer>).value)).toBeCloseTo(expectedTop(good[i / 2]), 4);
    }
    // The bad row's error is the one it has alone: its own features named at body.features.
    const err = (results[1] as PromiseRejectedResult).reason;
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 422, code: "VALIDATION_ERROR", details: { errors: [{ loc: "body.features", message: expect.stringContaining("v1") }] } });
    // One combined try, then each row alone.
    expect(serving.sent.map((s) => s.rows)).toEqual([3, 1, 1, 1]);
  });

  test("serving unreachable fails every row of the request with the single-row error", async () => {
    const down = new ServingClient({ urls: { [MODEL]: "http://127.0.0.1:9" }, apiKey: "x", timeoutMs: 2000 });
    try {
      const coalescer = new PredictionCoalescer(down);
      const results = await Promise.allSettled([0, 1, 2].map((i) => coalescer.predict(MODEL, features(i), { predictionId: `down-${i}` })));
      for (const r of results) {
        expect(r.status).toBe("rejected");
        expect((r as PromiseRejectedResult).reason).toMatchObject({ status: 503, code: "PREDICTION_FAILED", details: { model_id: MODEL, upstream: "serving" } });
      }
    } finally {
      down.close();
    }
  });
});

describe("POST /models/{id}/predict, concurrent callers", () => {
  test("each concurrent caller gets its own row's prediction, id and latency", async () => {
    const rows = Array.from({ length: 16 }, (_, i) => features(500 + i));
    const answers = await Promise.all(rows.map((row, i) => call("POST", `${stack.api}/models/${MODEL}/predict`, { role: "ml_engineer", body: { features: row, prediction_id: `api-conc-${i}` } })));
    answers.forEach((res, i) => {
      expect(res.status).toBe(200);
      expect(res.body.prediction_id).toBe(`api-conc-${i}`);
      expect(res.body.model_version).toBe("1");
      expect(res.body.latency_ms).toEqual(expect.any(Number));
      expect(res.body.prediction.probability).toBeCloseTo(expectedTop(rows[i]), 4);
    });
  });

  test("a concurrent caller with a bad row gets its own 422; the others their predictions", async () => {
    const { v2: _dropped, ...missing } = features(600);
    const bodies = [{ features: features(601) }, { features: missing }, { features: features(602) }];
    const answers = await Promise.all(bodies.map((body) => call("POST", `${stack.api}/models/${MODEL}/predict`, { role: "ml_engineer", body })));
    expect(answers.map((a) => a.status)).toEqual([200, 422, 200]);
    expect(answers[1].body.error).toMatchObject({ code: "VALIDATION_ERROR", details: { errors: [{ loc: "body.features", message: expect.stringContaining("v2") }] } });
  });
});
