/**
 * Ingestion against a real PostgreSQL: feedback before its prediction, duplicates and corrections,
 * bad input (a request that is not a batch: 4xx with what and where, nothing written; a bad event: refused
 * alone, the batch's others stored), retention, and the schema migrations.
 */
import { Pool } from "pg";
import { migrate } from "../../../services/monitor/src/db/migrations";
import { MIGRATIONS } from "../../../services/monitor/src/db/schema";
import { useTestDatabase } from "../../helpers/postgres";
import { DAY, MINUTE, count, event, get, post, sample, sql, startTestMonitor, type TestMonitor } from "./support";

const db = useTestDatabase("monitor_ingest");
let m: TestMonitor;

beforeAll(async () => {
  m = await startTestMonitor(db.url, { RETENTION_DAYS: "7", QUALITY_WINDOWS: "1h,24h", MAX_BATCH_EVENTS: "50", MAX_BATCH_FEEDBACK: "50", MAX_BODY_BYTES: "65536" });
});
afterAll(async () => {
  await m?.close();
});

const labels1h = async (model = "fraud-detector") => {
  const res = await get(`${m.url}/v1/models/${model}/quality?window=1h`);
  return res.status === 200 ? res.body.variants.reduce((n: number, v: any) => n + v.labels, 0) : 0;
};

describe("out-of-order feedback", () => {
  test("feedback for an unknown prediction is kept and joined when the prediction arrives", async () => {
    const early = await post(`${m.url}/v1/feedback`, { prediction_id: "ooo-1:0", actual: 1 });
    expect(early.status).toBe(200);
    expect(early.body).toEqual({ received: 1, inserted: 1, corrected: 0, commented: 0, unchanged: 0, labelled: 0 });
    expect(await count(db.url, "feedback", "prediction_id = 'ooo-1:0'")).toBe(1);
    expect(await count(db.url, "labelled", "prediction_id = 'ooo-1:0'")).toBe(0);

    const late = await post(`${m.url}/v1/events`, { events: [event({ id: "ooo-1:0", model: "ooo", outputs: { label: 1, probability: 0.8 } })] });
    expect(late.body).toMatchObject({ inserted: 1, labelled: 1 });
    const [row] = await sql(db.url, "SELECT predicted, actual, score FROM labelled WHERE prediction_id = 'ooo-1:0'");
    expect(row).toEqual({ predicted: "1", actual: "1", score: 0.8 });
    expect(await labels1h("ooo")).toBe(1);
  });

  test("feedback after its prediction is joined at once", async () => {
    await post(`${m.url}/v1/events`, { events: [event({ id: "ooo-2:0", model: "ooo", outputs: { label: 0, probability: 0.3 } })] });
    const res = await post(`${m.url}/v1/feedback`, [{ prediction_id: "ooo-2:0", actual: false }]);
    expect(res.body).toMatchObject({ inserted: 1, labelled: 1 });
    // false is the class 0, as the model's int64 label.
    const [row] = await sql(db.url, "SELECT predicted, actual FROM labelled WHERE prediction_id = 'ooo-2:0'");
    expect(row).toEqual({ predicted: "0", actual: "0" });
  });
});

test("the event is stored as sent: features (cut from the body or re-serialised) and outputs", async () => {
  const numeric = event({ id: "stored-1:0", model: "stored", features: { time: Math.fround(0.1), v1: -1.3598071336746216, amount: null }, outputs: { label: 1, probability: Math.fround(0.93) } });
  const text = event({ id: "stored-2:0", model: "stored", features: { city: 'Os"lo}', n: 2 }, outputs: { label: 0, probability: 0.25, scores: [0.75, 0.25] } });
  expect((await post(`${m.url}/v1/events`, { events: [numeric, text] })).body).toMatchObject({ inserted: 2 });
  const rows = await sql(db.url, "SELECT prediction_id, request_id, version, variant, ts, predicted, predicted_value, score, features::json AS features, outputs::json AS outputs FROM predictions WHERE model = 'stored' ORDER BY 1");
  expect(rows).toEqual([
    { prediction_id: "stored-1:0", request_id: "stored-1", version: "1", variant: "champion", ts: new Date(numeric.timestamp), predicted: "1", predicted_value: 1, score: Math.fround(0.93), features: numeric.features, outputs: numeric.outputs },
    { prediction_id: "stored-2:0", request_id: "stored-2", version: "1", variant: "champion", ts: new Date(text.timestamp), predicted: "0", predicted_value: 0, score: 0.25, features: text.features, outputs: text.outputs },
  ]);
});

describe("duplicates", () => {
  const batch = { events: [1, 2, 3].map((i) => event({ id: `dup-${i}:0`, model: "dups", ago: 5 * MINUTE })) };

  test("a re-sent batch stores nothing twice and is still acknowledged", async () => {
    expect((await post(`${m.url}/v1/events`, batch)).body).toEqual({ received: 3, inserted: 3, duplicates: 0, expired: 0, labelled: 0, refused: [] });
    expect((await post(`${m.url}/v1/events`, batch)).body).toEqual({ received: 3, inserted: 0, duplicates: 3, expired: 0, labelled: 0, refused: [] });
    expect(await count(db.url, "predictions", "model = 'dups'")).toBe(3);
  });

  test("a batch mixing stored, new and repeated events stores each new event once", async () => {
    const mixed = { events: [batch.events[0], event({ id: "dup-4:0", model: "dups" }), event({ id: "dup-5:0", model: "dups" })] };
    mixed.events.push(mixed.events[2]);
    const res = await post(`${m.url}/v1/events`, mixed);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ received: 4, inserted: 2, duplicates: 2 });
    expect(await count(db.url, "predictions", "model = 'dups'")).toBe(5);
    const text = (await get(m.metricsUrl)).body as string;
    expect(sample(text, "mlops_monitor_events_ingested_total", { model: "dups" })).toBe(5);
    expect(sample(text, "mlops_monitor_events_duplicate_total", { model: "dups" })).toBe(5);
  });

  test("repeated feedback changes nothing; a different actual is a correction", async () => {
    const fb = [{ prediction_id: "dup-1:0", actual: 1 }];
    expect((await post(`${m.url}/v1/feedback`, fb)).body).toEqual({ received: 1, inserted: 1, corrected: 0, commented: 0, unchanged: 0, labelled: 1 });
    expect((await post(`${m.url}/v1/feedback`, fb)).body).toEqual({ received: 1, inserted: 0, corrected: 0, commented: 0, unchanged: 1, labelled: 0 });
    expect(await count(db.url, "feedback", "prediction_id = 'dup-1:0'")).toBe(1);
    expect(await count(db.url, "labelled", "prediction_id = 'dup-1:0'")).toBe(1);
    const [before] = await sql(db.url, "SELECT label_delay_s FROM labelled WHERE prediction_id = 'dup-1:0'");

    const corrected = await post(`${m.url}/v1/feedback`, [{ prediction_id: "dup-1:0", actual: 0 }]);
    expect(corrected.body).toEqual({ received: 1, inserted: 0, corrected: 1, commented: 0, unchanged: 0, labelled: 1 });
    const [after] = await sql(db.url, "SELECT actual, label_delay_s FROM labelled WHERE prediction_id = 'dup-1:0'");
    expect(after).toEqual({ actual: "0", label_delay_s: before.label_delay_s });
    const q = await get(`${m.url}/v1/models/dups/quality?window=1h`);
    expect(q.body.variants[0]).toMatchObject({ labels: 1, accuracy: 1 });
  });

  test("the same id twice in one feedback request: the last one wins", async () => {
    const res = await post(`${m.url}/v1/feedback`, [
      { prediction_id: "dup-2:0", actual: 1 },
      { prediction_id: "dup-2:0", actual: 0 },
    ]);
    expect(res.body).toMatchObject({ received: 2, inserted: 1, labelled: 1 });
    expect(await sql(db.url, "SELECT actual FROM feedback WHERE prediction_id = 'dup-2:0'")).toEqual([{ actual: "0" }]);
  });
});

describe("bad input: a request that is not a batch is a 4xx that says what and where, and nothing is written", () => {
  const snapshot = async () => ({
    predictions: await count(db.url, "predictions"),
    feedback: await count(db.url, "feedback"),
    labelled: await count(db.url, "labelled"),
  });

  const cases: [string, unknown, number, string, string][] = [
    ["not JSON", "{events: [", 400, "INVALID_JSON", "request body is not valid JSON"],
    ["not a batch", { event: {} }, 400, "INVALID_EVENTS", 'not an event batch, nothing was stored: expected {"events": [...]}'],
    ["an empty batch", { events: [] }, 400, "INVALID_EVENTS", "not an event batch, nothing was stored: events is empty"],
    ["too many events", { events: Array.from({ length: 51 }, (_, i) => event({ id: `bad-8-${i}:0` })) }, 413, "BATCH_TOO_LARGE", "the batch has 51 events; at most 50"],
    ["a body over MAX_BODY_BYTES", { events: [event({ id: "bad-9:0", features: { blob: "x".repeat(70_000) } })] }, 413, "PAYLOAD_TOO_LARGE", "exceeds the limit of 65536 bytes"],
  ];

  test.each(cases)("events: %s", async (_name, body, status, code, message) => {
    const before = await snapshot();
    const res = await post(`${m.url}/v1/events`, body);
    expect(res.status).toBe(status);
    expect(res.body.code).toBe(code);
    expect(res.body.error).toContain(message);
    expect(Object.keys(res.body).sort()).toEqual(["code", "error"]);
    expect(await snapshot()).toEqual(before);
  });

  // A bad event costs that event: the batch's others are stored, and the answer says which was refused and why.
  const eventCases: [string, Record<string, unknown>, string][] = [
    ["a bad timestamp", { timestamp: "yesterday" }, "timestamp: "],
    ["an unknown variant", { variant: "canary" }, "variant: "],
    ["a missing prediction output", { outputs: { probability: 0.5 } }, 'outputs.label: missing; the classification model "fraud-detector" reports its prediction there'],
    ["a score that is not a number", { outputs: { label: 1, probability: "high" } }, 'outputs.probability: expected a number (the score of the positive class), got "high"'],
    ["a timestamp in the future", { timestamp: new Date(Date.now() + 2 * 3600_000).toISOString() }, "is more than 3600 s in the future"],
    ["a request id over 256 characters", { requestId: "r".repeat(300) }, "requestId: "],
    ["a model the monitor is not configured for", { model: "invented-model" }, 'model: "invented-model" is not monitored here'],
  ];

  test.each(eventCases)("events: %s is refused alone, the batch's other events are stored", async (name, change, message) => {
    const tag = name.replace(/\W+/g, "-");
    const good = [event({ id: `alone-${tag}-a:0` }), event({ id: `alone-${tag}-c:0` })];
    const bad = { ...event({ id: `alone-${tag}-b:0` }), ...change };
    const res = await post(`${m.url}/v1/events`, { events: [good[0], bad, good[1]] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ received: 3, inserted: 2, duplicates: 0 });
    expect(res.body.refused).toEqual([{ index: 1, id: `alone-${tag}-b:0`, error: expect.stringContaining(message) }]);
    expect(await count(db.url, "predictions", "prediction_id LIKE $1", [`alone-${tag}-%`])).toBe(2);
    expect(await count(db.url, "predictions", "prediction_id = $1", [`alone-${tag}-b:0`])).toBe(0);
  });

  const feedbackCases: [string, unknown, string][] = [
    ["no actual", { prediction_id: "x:0" }, "actual: expected the true label or value"],
    ["a null actual", { prediction_id: "x:0", actual: null }, "actual: expected the true label or value"],
    ["no prediction id", { actual: 1 }, "prediction_id: "],
    ["one bad item among good ones", [{ prediction_id: "fb-ok:0", actual: 1 }, { prediction_id: "", actual: 1 }], "[1].prediction_id"],
    ["an empty array", [], "the feedback array is empty"],
    ["a timestamp in the future", { prediction_id: "x:0", actual: 1, timestamp: "2999-01-01T00:00:00Z" }, "timestamp: 2999-01-01T00:00:00Z is in the future"],
  ];

  test.each(feedbackCases)("feedback: %s", async (_name, body, message) => {
    const before = await snapshot();
    const res = await post(`${m.url}/v1/feedback`, body);
    expect(res.status).toBe(400);
    expect(res.body.error).toContain(message);
    expect(await snapshot()).toEqual(before);
  });

  test("refused events are counted by reason", async () => {
    const text = (await get(m.metricsUrl)).body as string;
    expect(sample(text, "mlops_monitor_events_rejected_total", { reason: "batch_too_large" })).toBe(51);
    expect(sample(text, "mlops_monitor_events_rejected_total", { reason: "invalid_json" })).toBe(1);
    expect(sample(text, "mlops_monitor_events_rejected_total", { reason: "invalid_event" })).toBe(eventCases.length - 1);
    expect(sample(text, "mlops_monitor_events_rejected_total", { reason: "unknown_model" })).toBe(1);
  });

  test("unknown routes and methods", async () => {
    expect((await get(`${m.url}/v1/events`)).status).toBe(405);
    expect((await get(`${m.url}/v2/nothing`)).body).toEqual({ error: "no route for GET /v2/nothing", code: "NOT_FOUND" });
  });
});

describe("retention (RETENTION_DAYS=7)", () => {
  test("events older than the retention period are acknowledged but not stored", async () => {
    const res = await post(`${m.url}/v1/events`, { events: [event({ id: "ret-old:0", model: "ret", ago: 8 * DAY }), event({ id: "ret-new:0", model: "ret" })] });
    expect(res.body).toMatchObject({ received: 2, inserted: 1, expired: 1 });
    expect(await count(db.url, "predictions", "prediction_id = 'ret-old:0'")).toBe(0);
  });

  test("whole days are dropped once they end before the cutoff; feedback goes by its arrival", async () => {
    const events = [event({ id: "ret-6d:0", model: "ret", ago: 6 * DAY }), event({ id: "ret-1h:0", model: "ret", ago: 30 * MINUTE })];
    await post(`${m.url}/v1/events`, { events });
    await post(`${m.url}/v1/feedback`, [
      { prediction_id: "ret-6d:0", actual: 1 },
      { prediction_id: "ret-1h:0", actual: 1 },
    ]);
    const oldDay = events[0].timestamp.slice(0, 10);
    const partitions = async () => (await sql<{ relname: string }>(db.url, "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid ORDER BY 1")).map((r) => r.relname);
    expect(await partitions()).toContain(`predictions_p${oldDay.replace(/-/g, "")}`);

    // Two days later the 6-day-old prediction is past the 7 days: its day goes, with its labels.
    const later = await m.app.retention.run(Date.now() + 2 * DAY);
    expect(later.droppedDays).toContain(oldDay);
    expect(await partitions()).not.toContain(`predictions_p${oldDay.replace(/-/g, "")}`);
    expect(await partitions()).not.toContain(`labelled_p${oldDay.replace(/-/g, "")}`);
    expect(await count(db.url, "predictions", "prediction_id = 'ret-6d:0'")).toBe(0);
    expect(await count(db.url, "labelled", "prediction_id = 'ret-6d:0'")).toBe(0);
    expect(await count(db.url, "predictions", "prediction_id = 'ret-1h:0'")).toBe(1);
    expect(await count(db.url, "labelled", "prediction_id = 'ret-1h:0'")).toBe(1);
    expect(later.deletedFeedback).toBe(0);

    // Eight days later everything of today is past retention, feedback included.
    const feedbackRows = await count(db.url, "feedback");
    const much = await m.app.retention.run(Date.now() + 8 * DAY);
    expect(much.deletedFeedback).toBe(feedbackRows);
    expect(await count(db.url, "predictions")).toBe(0);
    expect(await count(db.url, "labelled")).toBe(0);
    expect(await count(db.url, "feedback")).toBe(0);
    // Today's and tomorrow's partitions (of that future "now") exist ahead of the traffic.
    const ahead = new Date(Date.now() + 8 * DAY).toISOString().slice(0, 10).replace(/-/g, "");
    expect(await partitions()).toContain(`predictions_p${ahead}`);

    // Ingestion still works for today: its partition is created again on demand.
    const again = await post(`${m.url}/v1/events`, { events: [event({ id: "ret-after:0", model: "ret" })] });
    expect(again.body).toMatchObject({ inserted: 1 });
  });
});

describe("schema migrations", () => {
  test("replicas starting together apply each migration once; re-running is a no-op", async () => {
    const url = await db.createDatabase("monitor_migrations");
    const pools = [0, 1, 2].map(() => new Pool({ connectionString: url, max: 1 }));
    try {
      const results = await Promise.all(pools.map((p) => migrate(p)));
      expect(results.map((r) => r.applied).sort()).toEqual([[], [], MIGRATIONS.map((x) => x.version)]);
      expect(results.every((r) => r.version === MIGRATIONS.length)).toBe(true);
      expect((await migrate(pools[0])).applied).toEqual([]);
      expect(await count(url, "schema_migrations")).toBe(MIGRATIONS.length);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  test("a migration changed after it was applied is refused, and a failing one leaves the schema as it was", async () => {
    const url = await db.createDatabase("monitor_migrations");
    const pool = new Pool({ connectionString: url, max: 1 });
    try {
      await migrate(pool);
      const edited = MIGRATIONS.map((x) => ({ ...x, sql: `${x.sql}\n-- edited` }));
      await expect(migrate(pool, edited)).rejects.toThrow('migration 1 ("predictions, feedback, labelled, alert actions") was changed after it was applied');
      const broken = [...MIGRATIONS, { version: MIGRATIONS.length + 1, name: "half", sql: "CREATE TABLE half_done (x int); SELECT no_such_function();" }];
      await expect(migrate(pool, broken)).rejects.toThrow("no_such_function");
      expect(await count(url, "pg_tables", "tablename = 'half_done'")).toBe(0);
      expect(await count(url, "schema_migrations")).toBe(MIGRATIONS.length);
    } finally {
      await pool.end();
    }
  });
});
