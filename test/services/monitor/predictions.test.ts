/**
 * The stored predictions as the platform API reads them (GET /v1/models/<name>/predictions and
 * GET /v1/predictions/<id>) and the free-text comment of POST /v1/feedback, against a real monitor and a
 * real PostgreSQL: the pages and their accuracy against a dataset written out below, the range and paging
 * rules, the comment's idempotency, and the query plans on 200,000 stored predictions.
 */
import { bearerHeader } from "@mlops/common";
import { Pool } from "pg";
import { Partitions, dayOf } from "../../../services/monitor/src/db/partitions";
import { ONE_SQL, PAGE_SQL, TOTAL_SQL } from "../../../services/monitor/src/predictions/reader";
import { useTestDatabase } from "../../helpers/postgres";
import { DAY, HOUR, MINUTE, TOKENS, count, event, get, post, request, sample, sql, startTestMonitor, type TestMonitor } from "./support";

const db = useTestDatabase("monitor_predictions");
let m: TestMonitor;
const at = (ms: number) => new Date(ms).toISOString();
const base = Date.now() - 2 * HOUR;

const MODELS_CONFIG = JSON.stringify({
  "fraud-detector": {},
  "churn-model": {},
  ties: {},
  "house-price": { task: "regression", predictionOutput: "price" },
  bulk: {},
  "bulk-other": {},
});

/**
 * fraud-detector, one event a minute from `base` (2 h ago), and one 25 h ago (outside the default 24 h):
 *
 *   id     at         label  p     actual  comment                 outcome
 *   p1     base       1      0.9   1       "confirmed by analyst"  right
 *   p2     base+1m    0      0.2   1       -                       wrong
 *   p3     base+2m    1      0.7   0       "false alarm"           wrong
 *   p4     base+3m    0      0.1   -       -                       (no truth)
 *   p5     base+4m    0      0.3   false   -                       right (false is the class 0)
 *   old    now-25h    1      0.8   1       -
 *
 * Default page (newest first): p5 p4 p3 p2 p1, total 5, labelled 4, accuracy 2/4.
 * limit=2: [p5 p4] labelled 1 accuracy 1/1 | [p3 p2] labelled 2 accuracy 0/2 | [p1] labelled 1 accuracy 1/1.
 */
const FRAUD: [string, number, number, number, unknown, string | undefined][] = [
  ["p1", 0, 1, 0.9, 1, "confirmed by analyst"],
  ["p2", 1, 0, 0.2, 1, undefined],
  ["p3", 2, 1, 0.7, 0, "false alarm"],
  ["p4", 3, 0, 0.1, undefined, undefined],
  ["p5", 4, 0, 0.3, false, undefined],
];
const timeOf = (minutes: number) => base + minutes * MINUTE;
const OLD_AT = Date.now() - 25 * HOUR;
const FEATURES = { amount: 12.5, city: "Oslo", n: 3 };

beforeAll(async () => {
  m = await startTestMonitor(db.url, { MODELS_CONFIG });
  const events = [
    ...FRAUD.map(([id, minutes, label, probability]) => event({ id: `${id}:0`, at: at(timeOf(minutes)), version: "3", outputs: { label, probability }, features: FEATURES })),
    event({ id: "old:0", at: at(OLD_AT), version: "2", outputs: { label: 1, probability: 0.8 } }),
    // Another model at the same times: never on fraud-detector's pages.
    event({ id: "other:0", model: "churn-model", at: at(timeOf(2)) }),
    // Two predictions at the same millisecond: the order falls back to the id, so pages do not overlap.
    event({ id: "tie-a:0", model: "ties", at: at(timeOf(1)) }),
    event({ id: "tie-b:0", model: "ties", at: at(timeOf(1)) }),
    event({ id: "tie-c:0", model: "ties", at: at(timeOf(1)) }),
    event({ id: "h1:0", model: "house-price", at: at(timeOf(0)), outputs: { price: 100 } }),
    event({ id: "h2:0", model: "house-price", at: at(timeOf(1)), outputs: { price: 200 } }),
  ];
  expect((await post(`${m.url}/v1/events`, { events })).body).toMatchObject({ inserted: events.length, refused: [] });
  const feedback = [
    ...FRAUD.filter(([, , , , actual]) => actual !== undefined).map(([id, minutes, , , actual, comment]) => ({
      prediction_id: `${id}:0`,
      actual,
      timestamp: at(timeOf(minutes) + 10 * MINUTE),
      ...(comment ? { comment } : {}),
    })),
    { prediction_id: "old:0", actual: 1 },
    { prediction_id: "h1:0", actual: 110 },
    { prediction_id: "h2:0", actual: 200 },
  ];
  expect((await post(`${m.url}/v1/feedback`, feedback)).body).toMatchObject({ inserted: feedback.length, labelled: feedback.length });
});

afterAll(async () => {
  await m?.close();
});

const page = (model: string, query = "") => get(`${m.url}/v1/models/${model}/predictions${query ? `?${query}` : ""}`);
const ids = (body: { predictions: { prediction_id: string }[] }) => body.predictions.map((p) => p.prediction_id);

describe("GET /v1/models/<name>/predictions", () => {
  test("the last 24 h by default, newest first, each with its truth and comment; accuracy over the page", async () => {
    const before = Date.now();
    const res = await page("fraud-detector");
    expect(res.status).toBe(200);
    const end = Date.parse(res.body.end);
    expect(end).toBeGreaterThanOrEqual(before);
    expect(end - Date.parse(res.body.start)).toBe(DAY);
    expect(res.body).toMatchObject({ model: "fraud-detector", task: "classification", limit: 100, offset: 0, total: 5, labelled: 4, accuracy: 0.5 });
    expect(ids(res.body)).toEqual(["p5:0", "p4:0", "p3:0", "p2:0", "p1:0"]);
    const byId = Object.fromEntries(res.body.predictions.map((p: any) => [p.prediction_id, p]));
    expect(byId["p3:0"]).toEqual({
      prediction_id: "p3:0",
      timestamp: at(timeOf(2)),
      version: "3",
      variant: "champion",
      features: FEATURES,
      outputs: { label: 1, probability: 0.7 },
      predicted: "1",
      predicted_value: 1,
      score: 0.7,
      actual: "0",
      actual_value: 0,
      feedback: "false alarm",
      labelled_at: at(timeOf(2) + 10 * MINUTE),
    });
    expect(byId["p4:0"]).toMatchObject({ actual: null, actual_value: null, feedback: null, labelled_at: null });
    expect(byId["p5:0"]).toMatchObject({ predicted: "0", actual: "0", feedback: null });
    expect(byId["p1:0"].feedback).toBe("confirmed by analyst");
  });

  test("paging: limit and offset walk the range without gaps or repeats; accuracy is the page's", async () => {
    const end = at(Date.now());
    const pages = [];
    for (const offset of [0, 2, 4]) pages.push((await page("fraud-detector", `end=${end}&limit=2&offset=${offset}`)).body);
    expect(pages.map(ids)).toEqual([["p5:0", "p4:0"], ["p3:0", "p2:0"], ["p1:0"]]);
    expect(pages.map((p) => [p.total, p.labelled, p.accuracy])).toEqual([
      [5, 1, 1],
      [5, 2, 0],
      [5, 1, 1],
    ]);
    const past = await page("fraud-detector", `end=${end}&limit=2&offset=10`);
    expect(past.body).toMatchObject({ total: 5, predictions: [], labelled: 0, accuracy: null });
  });

  test("equal times are ordered by id, so consecutive pages never overlap", async () => {
    const end = at(Date.now());
    const first = await page("ties", `end=${end}&limit=2`);
    const second = await page("ties", `end=${end}&limit=2&offset=2`);
    expect([...ids(first.body), ...ids(second.body)]).toEqual(["tie-c:0", "tie-b:0", "tie-a:0"]);
    expect(first.body.total).toBe(3);
  });

  test("the range is [start, end): an event at start is in, one at end is out", async () => {
    const res = await page("fraud-detector", `start=${at(timeOf(1))}&end=${at(timeOf(3))}`);
    expect(ids(res.body)).toEqual(["p3:0", "p2:0"]);
    expect(res.body).toMatchObject({ start: at(timeOf(1)), end: at(timeOf(3)), total: 2, labelled: 2, accuracy: 0 });
    // Offsets in the query are the same instants.
    const shifted = new Date(timeOf(1) + 2 * HOUR).toISOString().replace("Z", "+02:00");
    expect((await page("fraud-detector", `start=${encodeURIComponent(shifted)}&end=${at(timeOf(3))}`)).body.start).toBe(at(timeOf(1)));
  });

  test("a wider range reaches older predictions", async () => {
    const res = await page("fraud-detector", `start=${at(Date.now() - 48 * HOUR)}`);
    expect(res.body.total).toBe(6);
    expect(ids(res.body).at(-1)).toBe("old:0");
  });

  test("a regressor's page has its truth but no accuracy (no classes to compare)", async () => {
    const res = await page("house-price");
    expect(res.body).toMatchObject({ task: "regression", total: 2, labelled: 2, accuracy: null });
    expect(res.body.predictions.map((p: any) => [p.prediction_id, p.predicted_value, p.actual_value])).toEqual([
      ["h2:0", 200, 200],
      ["h1:0", 100, 110],
    ]);
  });

  test.each([
    ["start after end", `start=${at(base)}&end=${at(base - MINUTE)}`, "INVALID_RANGE", "must be before end"],
    ["start equal to end", `start=${at(base)}&end=${at(base)}`, "INVALID_RANGE", "must be before end"],
    ["a start in the future, end defaulting to now", `start=${at(Date.now() + HOUR)}`, "INVALID_RANGE", "which defaults to now"],
    ["a range over 31 days", `start=${at(base - 32 * DAY)}&end=${at(base)}`, "INVALID_RANGE", "spans 32.0 days; at most 31"],
    ["a time without its zone", "start=2025-07-15T15:30:00", "INVALID_RANGE", 'start must be an ISO-8601 time with its zone, e.g. 2025-07-15T15:30:00Z; got "2025-07-15T15:30:00"'],
    ["a time that is not one", "end=yesterday", "INVALID_RANGE", 'end must be an ISO-8601 time'],
    ["limit 0", "limit=0", "INVALID_LIMIT", 'limit must be an integer from 1 to 1000; got "0"'],
    ["limit 1001", "limit=1001", "INVALID_LIMIT", "from 1 to 1000"],
    ["a limit that is not an integer", "limit=2.5", "INVALID_LIMIT", 'got "2.5"'],
    ["a negative offset", "offset=-1", "INVALID_OFFSET", 'offset must be an integer >= 0; got "-1"'],
    ["an offset that is not a number", "offset=ten", "INVALID_OFFSET", "integer >= 0"],
  ])("%s: 400 with what was wrong", async (_name, query, code, message) => {
    const res = await page("fraud-detector", query);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe(code);
    expect(res.body.error).toContain(message);
  });

  test("exactly 31 days, limit 1000 and a large offset are accepted", async () => {
    const res = await page("fraud-detector", `start=${at(base - 31 * DAY)}&end=${at(base)}&limit=1000&offset=100000`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ limit: 1000, offset: 100000, total: 1, predictions: [] });
  });

  test("a model that is not in MODELS_CONFIG: 404 MODEL_NOT_FOUND", async () => {
    const res = await page("nope");
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: 'model "nope" is not monitored here (it is not in MODELS_CONFIG)', code: "MODEL_NOT_FOUND" });
  });

  test("READ_TOKEN only: none, or the feedback producer's, is 401", async () => {
    const url = `${m.url}/v1/models/fraud-detector/predictions`;
    expect((await request("GET", url)).status).toBe(401);
    const asFeedback = await request("GET", url, undefined, { authorization: bearerHeader(TOKENS.FEEDBACK_TOKEN) });
    expect(asFeedback.status).toBe(401);
    expect(asFeedback.headers.get("www-authenticate")).toContain("mlops-monitor-read");
  });
});

describe("GET /v1/predictions/<id>", () => {
  test("one prediction with its model, truth and comment", async () => {
    const res = await get(`${m.url}/v1/predictions/${encodeURIComponent("p1:0")}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      model: "fraud-detector",
      prediction_id: "p1:0",
      timestamp: at(timeOf(0)),
      version: "3",
      variant: "champion",
      features: FEATURES,
      outputs: { label: 1, probability: 0.9 },
      predicted: "1",
      predicted_value: 1,
      score: 0.9,
      actual: "1",
      actual_value: 1,
      feedback: "confirmed by analyst",
      labelled_at: at(timeOf(0) + 10 * MINUTE),
    });
    expect((await get(`${m.url}/v1/predictions/old:0`)).body).toMatchObject({ prediction_id: "old:0", version: "2", actual: "1" });
  });

  test("unknown ids: 404 PREDICTION_NOT_FOUND naming the id; ids no event can have are not looked up", async () => {
    const res = await get(`${m.url}/v1/predictions/never-sent:0`);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe("PREDICTION_NOT_FOUND");
    expect(res.body.error).toBe('no prediction "never-sent:0" is stored (unknown, not received yet, or older than RETENTION_DAYS=30)');
    const long = await get(`${m.url}/v1/predictions/${"x".repeat(300)}`);
    expect(long.status).toBe(404);
    expect(long.body.error).toContain(`"${"x".repeat(256)}..."`);
    expect((await get(`${m.url}/v1/predictions/a%00b`)).body.code).toBe("PREDICTION_NOT_FOUND");
  });

  test("feedback without its prediction is not a prediction", async () => {
    await post(`${m.url}/v1/feedback`, { prediction_id: "early:0", actual: 1, comment: "sent first" });
    expect((await get(`${m.url}/v1/predictions/early:0`)).status).toBe(404);
  });
});

describe("POST /v1/feedback with a comment", () => {
  const fb = (body: unknown) => post(`${m.url}/v1/feedback`, body);
  const stored = async (id: string) => (await sql(db.url, "SELECT actual, comment, corrected_at FROM feedback WHERE prediction_id = $1", [id]))[0];
  const shown = async (id: string) => (await get(`${m.url}/v1/predictions/${id}`)).body;

  test("a new comment with the same actual replaces the comment and is no correction; repeats change nothing", async () => {
    expect((await fb({ prediction_id: "c1:0", actual: 1, comment: "first" })).body).toEqual({ received: 1, inserted: 1, corrected: 0, commented: 0, unchanged: 0, labelled: 0 });
    expect((await post(`${m.url}/v1/events`, { events: [event({ id: "c1:0", model: "churn-model", outputs: { label: 1, probability: 0.6 } })] })).body).toMatchObject({ labelled: 1 });
    const [labelledBefore] = await sql(db.url, "SELECT actual, labelled_at FROM labelled WHERE prediction_id = 'c1:0'");

    expect((await fb({ prediction_id: "c1:0", actual: 1, comment: "second" })).body).toEqual({ received: 1, inserted: 0, corrected: 0, commented: 1, unchanged: 0, labelled: 0 });
    expect(await stored("c1:0")).toEqual({ actual: "1", comment: "second", corrected_at: null });
    expect(await sql(db.url, "SELECT actual, labelled_at FROM labelled WHERE prediction_id = 'c1:0'")).toEqual([labelledBefore]);
    expect((await shown("c1:0")).feedback).toBe("second");

    // The same comment again, no comment, or null: the stored one stays.
    for (const repeat of [{ comment: "second" }, {}, { comment: null }]) {
      expect((await fb({ prediction_id: "c1:0", actual: 1, ...repeat })).body).toMatchObject({ commented: 0, corrected: 0, unchanged: 1 });
    }
    expect((await stored("c1:0")).comment).toBe("second");
  });

  test('"" clears the comment (once); a different actual is a correction, with or without a comment', async () => {
    await fb({ prediction_id: "c2:0", actual: "1", comment: "looks wrong" });
    expect((await fb({ prediction_id: "c2:0", actual: "1", comment: "" })).body).toMatchObject({ commented: 1, unchanged: 0 });
    expect((await fb({ prediction_id: "c2:0", actual: "1", comment: "" })).body).toMatchObject({ commented: 0, unchanged: 1 });
    await post(`${m.url}/v1/events`, { events: [event({ id: "c2:0", model: "churn-model", outputs: { label: 1, probability: 0.6 } })] });
    expect((await shown("c2:0")).feedback).toBeNull();

    expect((await fb({ prediction_id: "c2:0", actual: 0, comment: "it was not churn" })).body).toMatchObject({ corrected: 1, commented: 0, labelled: 1 });
    expect(await stored("c2:0")).toMatchObject({ actual: "0", comment: "it was not churn" });
    expect((await fb({ prediction_id: "c2:0", actual: 1 })).body).toMatchObject({ corrected: 1, commented: 0 });
    expect(await stored("c2:0")).toMatchObject({ actual: "1", comment: "it was not churn" });
    expect((await shown("c2:0")).actual).toBe("1");
    const text = (await get(m.metricsUrl)).body as string;
    expect(sample(text, "mlops_monitor_feedback_total", { result: "commented" })).toBeGreaterThanOrEqual(2);
  });

  test("2,000 characters are kept (counted as characters, not UTF-16 units); 2,001 are refused with the item named, nothing stored", async () => {
    const emoji = "\u{1F600}".repeat(2000);
    expect((await fb({ prediction_id: "c3:0", actual: 1, comment: emoji })).status).toBe(200);
    expect((await sql(db.url, "SELECT char_length(comment) AS n FROM feedback WHERE prediction_id = 'c3:0'"))[0].n).toBe(2000);

    const res = await fb([
      { prediction_id: "c4:0", actual: 1 },
      { prediction_id: "c5:0", actual: 1, comment: "y".repeat(2001) },
    ]);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: "invalid feedback, nothing was stored: [1].comment: has 2001 characters; at most 2000 are kept", code: "INVALID_FEEDBACK" });
    expect(await count(db.url, "feedback", "prediction_id IN ('c4:0', 'c5:0')")).toBe(0);

    const wrongType = await fb({ prediction_id: "c4:0", actual: 1, comment: 42 });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.error).toContain("comment: expected the free-text feedback as a string");
    expect((await fb({ prediction_id: "c4:0", actual: 1, comment: "a\u0000b" })).body.error).toContain("comment: must not contain NUL characters");
  });

  test("the database holds the limit too", async () => {
    await expect(sql(db.url, "UPDATE feedback SET comment = repeat('z', 2001) WHERE prediction_id = 'c3:0'")).rejects.toThrow(/check constraint/);
  });
});

test("migration 2: the comment column, and the (model, ts) index on every partition of predictions", async () => {
  expect((await sql(db.url, "SELECT version FROM schema_migrations ORDER BY version")).map((r) => r.version)).toEqual([1, 2]);
  const missing = await sql(
    db.url,
    `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'predictions'::regclass
        AND NOT EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = c.oid AND pg_get_indexdef(x.indexrelid) LIKE '%(model, ts, prediction_id)')`,
  );
  expect(missing).toEqual([]);
  expect(await count(db.url, "pg_inherits", "inhparent = 'predictions'::regclass")).toBeGreaterThanOrEqual(2);
});

/**
 * 200,000 predictions of `bulk` over the last 7 days (one every ~3 s) and 50,000 of `bulk-other` interleaved,
 * a third of bulk's with feedback: the plans must use the index (model, ts, ...) of the range's partitions
 * only, and the lookup by id the primary key of each partition. The timings are printed for the README.
 */
describe("on 200,000 predictions", () => {
  const N = 200_000;
  const SPAN = 7 * DAY;
  let pool: Pool;
  let now: number;

  beforeAll(async () => {
    pool = new Pool({ connectionString: db.url, max: 2 });
    now = Date.now();
    const partitions = new Partitions(pool);
    await partitions.load();
    await partitions.ensure(Array.from({ length: 9 }, (_, d) => dayOf(now - SPAN - DAY + d * DAY)));
    const features = `'{"time":' || i || ',' || (SELECT string_agg('"v' || k || '":' || (k * 0.0123456789)::text, ',') FROM generate_series(1, 28) k) || ',"amount":' || (i % 500) || '}'`;
    await pool.query(
      `INSERT INTO predictions (prediction_id, ts, request_id, model, version, variant, predicted, predicted_value, score, features, outputs)
       SELECT 'bulk-' || i || ':0', $1::timestamptz - make_interval(secs => i * $2::float8), 'bulk-' || i, 'bulk', '1', 'champion',
              (i % 2)::text, i % 2, (i % 100) / 100.0, ${features}, '{"label":' || (i % 2) || ',"probability":' || ((i % 100) / 100.0) || '}'
         FROM generate_series(1, $3::int) i`,
      [at(now), SPAN / 1000 / N, N],
    );
    await pool.query(
      `INSERT INTO predictions (prediction_id, ts, request_id, model, version, variant, predicted, predicted_value, score, features, outputs)
       SELECT 'other-' || i || ':0', $1::timestamptz - make_interval(secs => i * $2::float8), 'other-' || i, 'bulk-other', '1', 'champion', '0', 0, 0.5, NULL, '{"label":0}'
         FROM generate_series(1, $3::int) i`,
      [at(now), (SPAN / 1000 / N) * 4, N / 4],
    );
    await pool.query(
      `INSERT INTO feedback (prediction_id, actual, actual_value, observed_at, comment)
       SELECT 'bulk-' || i || ':0', ((i / 3) % 2)::text, (i / 3) % 2, now(), CASE WHEN i % 9 = 0 THEN 'checked' END FROM generate_series(3, $1::int, 3) i`,
      [N],
    );
    // What autovacuum does in a running system: statistics, and the visibility map of the index-only count.
    await pool.query("VACUUM ANALYZE predictions, feedback");
  }, 300_000);

  afterAll(async () => {
    await pool?.end();
  });

  type PlanNode = { "Node Type": string; "Relation Name"?: string; "Index Name"?: string; "Actual Loops"?: number; Plans?: PlanNode[] };
  const scans = (node: PlanNode): PlanNode[] => [...(node["Relation Name"] ? [node] : []), ...(node.Plans ?? []).flatMap(scans)];
  const partitionScans = async (text: string, params: unknown[]) => {
    const plan = (await pool.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, params)).rows[0]["QUERY PLAN"][0].Plan as PlanNode;
    return scans(plan).filter((s) => s["Relation Name"]!.startsWith("predictions_"));
  };
  const names = (nodes: PlanNode[]) => [...new Set(nodes.map((s) => s["Relation Name"]!))].sort();
  const executed = (nodes: PlanNode[]) => nodes.filter((s) => (s["Actual Loops"] ?? 0) > 0);
  /** The daily partitions that overlap [start, end). */
  const partitionsOf = (start: number, end: number) => {
    const days = [];
    for (let d = Math.floor(start / DAY) * DAY; d < end; d += DAY) days.push(`predictions_p${dayOf(d).replace(/-/g, "")}`);
    return days;
  };

  test("a page: its keys from the (model, ts) index of the range's partitions only, then its rows by primary key in their partition", async () => {
    const start = now - DAY;
    const nodes = await partitionScans(PAGE_SQL, ["bulk", at(start), at(now), 100, 0]);
    const byRange = nodes.filter((s) => /model_ts/.test(s["Index Name"] ?? ""));
    expect(names(byRange)).toEqual(partitionsOf(start, now));
    for (const s of byRange) expect(s["Node Type"]).toBe("Index Only Scan");
    // The lookups list every partition, and run only in those of the page's rows (pruned at run time by ts).
    const lookups = executed(nodes.filter((s) => !byRange.includes(s)));
    expect(lookups.length).toBeGreaterThan(0);
    for (const s of lookups) expect(s["Index Name"]).toMatch(/_pkey$/);
    expect(partitionsOf(start, now)).toEqual(expect.arrayContaining(names(lookups)));
  });

  test("the total counts the range's partitions only", async () => {
    const start = now - 3 * DAY;
    // Where the model is most of a day's rows, the planner may prefer reading the partition to its index.
    const nodes = await partitionScans(TOTAL_SQL, ["bulk", at(start), at(now)]);
    expect(names(nodes)).toEqual(partitionsOf(start, now));
    for (const s of nodes) expect(["Index Only Scan", "Seq Scan", "Bitmap Heap Scan"]).toContain(s["Node Type"]);
  });

  test("a lookup by id probes the primary key of each partition, newest first, up to the match", async () => {
    const i = 60_000;
    const ts = now - (i * SPAN) / N;
    const nodes = await partitionScans(ONE_SQL, [`bulk-${i}:0`]);
    for (const s of nodes) expect(s["Index Name"]).toMatch(/_pkey$/);
    expect(names(nodes).length).toBeGreaterThanOrEqual(8);
    expect(names(executed(nodes))).toEqual(partitionsOf(ts, now + DAY + 1).filter((name) => names(nodes).includes(name)));
  });

  test("the answers over HTTP (timings printed)", async () => {
    const timed = async (path: string) => {
      const times: number[] = [];
      let body: any;
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        const res = await get(`${m.url}${path}`);
        times.push(performance.now() - t0);
        expect(res.status).toBe(200);
        body = res.body;
      }
      return { body, ms: times.sort((a, b) => a - b)[2] };
    };
    const end = at(now);
    const day = await timed(`/v1/models/bulk/predictions?start=${at(now - DAY)}&end=${end}&limit=100`);
    // One every SPAN / N: the last day holds N / 7 of them (to within the rounding of the boundaries).
    expect(Math.abs(day.body.total - N / 7)).toBeLessThanOrEqual(2);
    expect(day.body.predictions).toHaveLength(100);
    expect(day.body.predictions[0].prediction_id).toBe("bulk-1:0");
    // bulk-3, -6, -9... have feedback: 33 of the page's first 99, actual ((i / 3) % 2) vs predicted (i % 2).
    const expectedLabelled = day.body.predictions.filter((p: any) => Number(/bulk-(\d+)/.exec(p.prediction_id)![1]) % 3 === 0).length;
    expect(day.body.labelled).toBe(expectedLabelled);
    const week = await timed(`/v1/models/bulk/predictions?start=${at(now - SPAN - HOUR)}&end=${end}&limit=1000`);
    expect(week.body.total).toBe(N);
    const deep = await timed(`/v1/models/bulk/predictions?start=${at(now - SPAN - HOUR)}&end=${end}&limit=100&offset=150000`);
    expect(deep.body.predictions[0].prediction_id).toBe("bulk-150001:0");
    const one = await timed("/v1/predictions/bulk-199999:0");
    expect(one.body.model).toBe("bulk");
    console.info(
      `predictions on ${N} rows (+${N / 4} of another model), median of 5 over HTTP: 24 h page of 100 (total ${day.body.total}) ${day.ms.toFixed(1)} ms; ` +
        `7-day page of 1000 (total ${week.body.total}) ${week.ms.toFixed(1)} ms; 7 days, offset 150000, 100 rows ${deep.ms.toFixed(1)} ms; by id ${one.ms.toFixed(1)} ms`,
    );
  });
});
