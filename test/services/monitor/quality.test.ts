/**
 * Quality metrics against values computed by hand from small datasets written out below, over windows,
 * per version and variant, for classifiers (numeric and string labels, scores as a number or an array)
 * and a regressor; the same values on the Prometheus gauges; the API's errors.
 */
import { useTestDatabase } from "../../helpers/postgres";
import { HOUR, MINUTE, event, get, post, sample, sql, startTestMonitor, type TestMonitor } from "./support";

const db = useTestDatabase("monitor_quality");
let m: TestMonitor;
const base = Date.now() - 20 * MINUTE;
const at = (ms: number) => new Date(ms).toISOString();

/**
 * fraud-detector v3 champion, predicted at `base` (inside 1h), label = predicted class, p = probability
 * of class 1, actual = ground truth, delay = seconds from prediction to ground truth.
 *
 *   id   label  p     actual  outcome  delay
 *   a1   1      0.9   1       TP        60
 *   a2   1      0.8   1       TP       120
 *   a3   1      0.7   0       FP       180
 *   a4   0      0.4   1       FN       240
 *   a5   0      0.3   0       TN       300
 *   a6   0      0.2   0       TN       360
 *   a7   0      0.2   1       FN       420   (score tied with a6)
 *   a8   1      0.6   1       TP       480
 *   a9   0      0.1   0       TN       540
 *   a10  0      0.05  0       TN       600
 *   a11  1      0.95  -       (no ground truth: not counted)
 * plus b1 (3 h ago, inside 24h only): label 1, p 0.9, actual 0 (FP), delay 1800.
 *
 * 1h:  TP 3, FP 1, FN 2, TN 4 -> accuracy 7/10, precision 3/4, recall 3/5, F1 2*3/(2*3+1+2) = 6/9.
 *      ROC AUC over positive/negative pairs (ties count 1/2): positives 0.9, 0.8, 0.6, 0.4, 0.2 beat
 *      5, 5, 4, 4 and 2 + 1/2 of the 5 negatives -> 20.5 / 25 = 0.82. Mean delay 330 s.
 * 24h: b1 adds an FP and a negative at 0.9 (tied with a1: +1/2) -> accuracy 7/11, precision 3/5,
 *      recall 3/5, F1 6/10, AUC 21/30 = 0.7, mean delay (3300 + 1800) / 11.
 */
const CHAMPION: [string, number, number, number | null, number][] = [
  ["a1", 1, 0.9, 1, 60],
  ["a2", 1, 0.8, 1, 120],
  ["a3", 1, 0.7, 0, 180],
  ["a4", 0, 0.4, 1, 240],
  ["a5", 0, 0.3, 0, 300],
  ["a6", 0, 0.2, 0, 360],
  ["a7", 0, 0.2, 1, 420],
  ["a8", 1, 0.6, 1, 480],
  ["a9", 0, 0.1, 0, 540],
  ["a10", 0, 0.05, 0, 600],
  ["a11", 1, 0.95, null, 0],
];
const OLD = base - 3 * HOUR + 20 * MINUTE;

/**
 * fraud-detector v4 challenger: c1 label 1 p 0.9 actual 1 (TP, 100 s), c2 label 1 p 0.8 actual 0 (FP, 200 s)
 * -> accuracy 1/2, precision 1/2, recall 1/1, F1 2/3, AUC 1 (the positive outranks the negative), delay 150.
 *
 * house-price (regression, output `price`): predictions 100, 200, 300; truth 110, 190, 330 -> errors
 * 10, 10, 30 -> MAE 50/3, RMSE sqrt((100 + 100 + 900) / 3).
 *
 * spam-filter (labels "spam"/"ham", positive class "spam", score = probabilities[1]):
 *   s1 spam [0.2, 0.8] actual spam (TP) | s2 spam [0.3, 0.7] actual ham (FP) | s3 ham [0.7, 0.3] actual ham (TN)
 *   s4 ham [0.6, 0.4] actual spam (FN) -> accuracy 1/2, precision 1/2, recall 1/2, F1 1/2,
 *   AUC: 0.8 beats both negatives, 0.4 beats 0.3 -> 3/4.
 */
const MODELS_CONFIG = JSON.stringify({
  "fraud-detector": {},
  "house-price": { task: "regression", predictionOutput: "price" },
  "spam-filter": { positiveClass: "spam", scoreOutput: "probabilities", scoreIndex: 1 },
});

beforeAll(async () => {
  // INGEST_WORKERS=0: batches prepared on the event loop (the other files use a worker thread);
  // STORE_FEATURES=false: outputs only (the other files keep the features).
  m = await startTestMonitor(db.url, { MODELS_CONFIG, QUALITY_WINDOWS: "1h,24h,7d", INGEST_WORKERS: "0", STORE_FEATURES: "false" });
  const fb = (id: string, actual: unknown, predictedAt: number, delayS: number) => ({ prediction_id: `${id}:0`, actual, timestamp: at(predictedAt + delayS * 1000) });

  // Half of the ground truth arrives before its predictions, half after: both joins are exercised.
  const labelled = CHAMPION.filter(([, , , actual]) => actual !== null);
  const early = labelled.filter((_, i) => i % 2 === 0);
  const late = labelled.filter((_, i) => i % 2 === 1);
  expect((await post(`${m.url}/v1/feedback`, early.map(([id, , , actual, d]) => fb(id, actual, base, d)))).status).toBe(200);
  const events = [
    ...CHAMPION.map(([id, label, p]) => event({ id: `${id}:0`, at: at(base), version: "3", outputs: { label, probability: p } })),
    event({ id: "b1:0", at: at(OLD), version: "3", outputs: { label: 1, probability: 0.9 } }),
    event({ id: "c1:0", at: at(base), version: "4", variant: "challenger", outputs: { label: 1, probability: 0.9 } }),
    event({ id: "c2:0", at: at(base), version: "4", variant: "challenger", outputs: { label: 1, probability: 0.8 } }),
    ...[100, 200, 300].map((price, i) => event({ id: `h${i}:0`, at: at(base), model: "house-price", outputs: { price } })),
    ...[
      ["s1", "spam", [0.2, 0.8]],
      ["s2", "spam", [0.3, 0.7]],
      ["s3", "ham", [0.7, 0.3]],
      ["s4", "ham", [0.6, 0.4]],
    ].map(([id, label, probabilities]) => event({ id: `${id}:0`, at: at(base), model: "spam-filter", outputs: { label, probabilities } })),
  ];
  const stored = await post(`${m.url}/v1/events`, { events });
  expect(stored.status).toBe(200);
  expect(stored.body).toMatchObject({ received: events.length, inserted: events.length, duplicates: 0, labelled: early.length });
  const rest = [
    ...late.map(([id, , , actual, d]) => fb(id, actual, base, d)),
    fb("b1", 0, OLD, 1800),
    fb("c1", 1, base, 100),
    fb("c2", 0, base, 200),
    fb("h0", 110, base, 10),
    fb("h1", 190, base, 10),
    fb("h2", 330, base, 10),
    fb("s1", "spam", base, 5),
    fb("s2", "ham", base, 5),
    fb("s3", "ham", base, 5),
    fb("s4", "spam", base, 5),
  ];
  const joined = await post(`${m.url}/v1/feedback`, rest);
  expect(joined.body).toMatchObject({ received: rest.length, inserted: rest.length, labelled: rest.length });
});

afterAll(async () => {
  await m?.close();
});

const quality = async (model: string, window?: string) => {
  const res = await get(`${m.url}/v1/models/${model}/quality${window ? `?window=${window}` : ""}`);
  expect(res.status).toBe(200);
  return res.body;
};
const variant = (report: any, version: string, name: string) => report.variants.find((v: any) => v.version === version && v.variant === name);

test("classifier over 1h: accuracy, precision, recall, F1, ROC AUC with ties, labels, label delay", async () => {
  const report = await quality("fraud-detector", "1h");
  expect(report).toMatchObject({ model: "fraud-detector", task: "classification", window: "1h", windowSeconds: 3600, positiveClass: "1" });
  const v = variant(report, "3", "champion");
  expect(v.labels).toBe(10);
  expect(v.confusion).toEqual({ tp: 3, fp: 1, fn: 2, tn: 4 });
  expect(v.accuracy).toBeCloseTo(0.7, 12);
  expect(v.precision).toBeCloseTo(0.75, 12);
  expect(v.recall).toBeCloseTo(0.6, 12);
  expect(v.f1).toBeCloseTo(6 / 9, 12);
  expect(v.rocAuc).toBeCloseTo(0.82, 12);
  expect(v.meanLabelDelaySeconds).toBeCloseTo(330, 6);
});

test("the default window is the first configured one (1h)", async () => {
  expect(variant(await quality("fraud-detector"), "3", "champion").labels).toBe(10);
});

test("over 24h the older labelled prediction counts too", async () => {
  const v = variant(await quality("fraud-detector", "24h"), "3", "champion");
  expect(v.labels).toBe(11);
  expect(v.confusion).toEqual({ tp: 3, fp: 2, fn: 2, tn: 4 });
  expect(v.accuracy).toBeCloseTo(7 / 11, 12);
  expect(v.precision).toBeCloseTo(3 / 5, 12);
  expect(v.recall).toBeCloseTo(3 / 5, 12);
  expect(v.f1).toBeCloseTo(0.6, 12);
  expect(v.rocAuc).toBeCloseTo(0.7, 12);
  expect(v.meanLabelDelaySeconds).toBeCloseTo(5100 / 11, 6);
});

test("each version and variant on its own", async () => {
  const report = await quality("fraud-detector", "1h");
  expect(report.variants.map((v: any) => `${v.version}/${v.variant}`)).toEqual(["3/champion", "4/challenger"]);
  const c = variant(report, "4", "challenger");
  expect(c).toMatchObject({ labels: 2, confusion: { tp: 1, fp: 1, fn: 0, tn: 0 } });
  expect(c.accuracy).toBeCloseTo(0.5, 12);
  expect(c.precision).toBeCloseTo(0.5, 12);
  expect(c.recall).toBeCloseTo(1, 12);
  expect(c.f1).toBeCloseTo(2 / 3, 12);
  expect(c.rocAuc).toBeCloseTo(1, 12);
  expect(c.meanLabelDelaySeconds).toBeCloseTo(150, 6);
});

test("regressor: MAE and RMSE", async () => {
  const report = await quality("house-price", "1h");
  expect(report.task).toBe("regression");
  const v = variant(report, "1", "champion");
  expect(v.labels).toBe(3);
  expect(v.mae).toBeCloseTo(50 / 3, 10);
  expect(v.rmse).toBeCloseTo(Math.sqrt(1100 / 3), 10);
  expect(v).not.toHaveProperty("accuracy");
});

test("string labels with a configured positive class and the score taken from an array of class probabilities", async () => {
  const v = variant(await quality("spam-filter", "1h"), "1", "champion");
  expect(v.confusion).toEqual({ tp: 1, fp: 1, fn: 1, tn: 1 });
  expect(v.accuracy).toBeCloseTo(0.5, 12);
  expect(v.precision).toBeCloseTo(0.5, 12);
  expect(v.recall).toBeCloseTo(0.5, 12);
  expect(v.rocAuc).toBeCloseTo(0.75, 12);
});

test("Prometheus gauges carry the same values per model, version, variant and window", async () => {
  await m.app.quality.refresh();
  const text = (await get(m.metricsUrl)).body as string;
  const g = (name: string, labels: Record<string, string>) => sample(text, name, labels);
  const champion1h = { model: "fraud-detector", version: "3", variant: "champion", window: "1h" };
  expect(g("mlops_model_accuracy", champion1h)).toBeCloseTo(0.7, 12);
  expect(g("mlops_model_precision", champion1h)).toBeCloseTo(0.75, 12);
  expect(g("mlops_model_recall", champion1h)).toBeCloseTo(0.6, 12);
  expect(g("mlops_model_f1", champion1h)).toBeCloseTo(6 / 9, 12);
  expect(g("mlops_model_roc_auc", champion1h)).toBeCloseTo(0.82, 12);
  expect(g("mlops_model_labels", champion1h)).toBe(10);
  expect(g("mlops_model_label_delay_seconds", champion1h)).toBeCloseTo(330, 6);
  expect(g("mlops_model_accuracy", { ...champion1h, window: "24h" })).toBeCloseTo(7 / 11, 12);
  expect(g("mlops_model_labels", { ...champion1h, window: "7d" })).toBe(11);
  expect(g("mlops_model_accuracy", { model: "fraud-detector", version: "4", variant: "challenger", window: "1h" })).toBeCloseTo(0.5, 12);
  const house = { model: "house-price", version: "1", variant: "champion", window: "1h" };
  expect(g("mlops_model_mae", house)).toBeCloseTo(50 / 3, 10);
  expect(g("mlops_model_rmse", house)).toBeCloseTo(Math.sqrt(1100 / 3), 10);
  // A metric that does not apply has no series rather than a made-up value.
  expect(g("mlops_model_accuracy", house)).toBeUndefined();
  expect(g("mlops_model_mae", champion1h)).toBeUndefined();
  expect(g("mlops_monitor_events_ingested_total", { model: "fraud-detector" })).toBe(CHAMPION.length + 3);
  // 10 labels of the champion table + b1 + c1, c2 + 3 house prices + 4 spam labels.
  expect(g("mlops_monitor_feedback_total", { result: "inserted" })).toBe(20);
});

test("GET /v1/models lists the configured models", async () => {
  const res = await get(`${m.url}/v1/models`);
  expect(res.body.models).toEqual(["fraud-detector", "house-price", "spam-filter"]);
});

test("quality API errors: unknown model 404, bad or too long window 400", async () => {
  const unknown = await get(`${m.url}/v1/models/nope/quality`);
  expect(unknown.status).toBe(404);
  expect(unknown.body).toEqual({ error: 'model "nope" is not monitored here (it is not in MODELS_CONFIG)', code: "MODEL_NOT_FOUND" });
  const bad = await get(`${m.url}/v1/models/fraud-detector/quality?window=soon`);
  expect(bad.status).toBe(400);
  expect(bad.body.code).toBe("INVALID_WINDOW");
  expect(bad.body.error).toContain('window "soon" is not a duration');
  const long = await get(`${m.url}/v1/models/fraud-detector/quality?window=90d`);
  expect(long.status).toBe(400);
  expect(long.body.error).toContain("longer than the retention period (30 days)");
});

test("STORE_FEATURES=false keeps the outputs and not the features", async () => {
  expect(await sql(db.url, "SELECT features, outputs::json AS outputs FROM predictions WHERE prediction_id = 'a1:0'")).toEqual([{ features: null, outputs: { label: 1, probability: 0.9 } }]);
});

test("a window without labelled predictions reports no variants", async () => {
  const report = await quality("fraud-detector", "1m");
  expect(report.variants).toEqual([]);
});
