/**
 * The attacks on the monitor of issue 13, each against a real PostgreSQL, from 127.0.0.1 as a pod that the
 * network policy lets in could make them:
 * - forged events and feedback (they drove a model's accuracy gauge to 0 and its champion alias back):
 *   refused without the route's own credential, nothing stored; the reads need theirs;
 * - the Alertmanager receiver: not on PORT at all, only on ALERT_PORT with its token;
 * - invented model names (one request added 4,000 series and 11 s to start-up): refused per event, the
 *   batch's known models stored, `monitored_models` bounded by the configuration and pruned at start-up;
 * - one bad event (a 300-character request id) refused alone, its batch's others stored;
 * - oversized bodies (three 30 MiB batches took the pod to 961 MB): 413 before reading, memory flat;
 *   more bodies at once than MAX_CONCURRENT_BATCHES: 503 BUSY with retry-after;
 * - a slow first quality refresh no longer delays listening.
 */
import http from "node:http";
import { bearerHeader } from "@mlops/common";
import { QualityService } from "../../../services/monitor/src/quality/service";
import { useTestDatabase } from "../../helpers/postgres";
import { TOKENS, count, event, get, post, request, sample, sql, startTestMonitor, type TestMonitor } from "./support";

const db = useTestDatabase("monitor_security");
let m: TestMonitor;

beforeAll(async () => {
  m = await startTestMonitor(db.url);
});
afterAll(async () => {
  await m?.close();
});

const stored = async () => ({ predictions: await count(db.url, "predictions"), feedback: await count(db.url, "feedback"), labelled: await count(db.url, "labelled") });

/** What an attacker may present: nothing, a guess, another route's credential, the right one in the wrong scheme. */
function forgeries(right: string, other: string): [string, Record<string, string>][] {
  return [
    ["no credential", {}],
    ["a wrong token", { authorization: bearerHeader("guessed-token-0123456789") }],
    ["another route's token", { authorization: bearerHeader(other) }],
    ["the token as basic auth", { authorization: `Basic ${Buffer.from(`x:${right}`).toString("base64")}` }],
    ["the token with a suffix", { authorization: `${bearerHeader(right)}x` }],
  ];
}

describe("producers need their own credential", () => {
  const forged = { events: Array.from({ length: 150 }, (_, i) => event({ id: `forged-${i}:0`, outputs: { label: 1, probability: 0.9 } })) };
  const wrongLabels = Array.from({ length: 150 }, (_, i) => ({ prediction_id: `forged-${i}:0`, actual: 0 }));

  test.each(forgeries(TOKENS.EVENTS_TOKEN, TOKENS.FEEDBACK_TOKEN))("POST /v1/events with %s: 401, nothing stored", async (_name, headers) => {
    const before = await stored();
    const res = await request("POST", `${m.url}/v1/events`, forged, headers);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe("UNAUTHENTICATED");
    expect(res.headers.get("www-authenticate")).toContain('Bearer realm="mlops-monitor-events"');
    expect(await stored()).toEqual(before);
  });

  test.each(forgeries(TOKENS.FEEDBACK_TOKEN, TOKENS.EVENTS_TOKEN))("POST /v1/feedback with %s: 401, nothing stored", async (_name, headers) => {
    const before = await stored();
    const res = await request("POST", `${m.url}/v1/feedback`, wrongLabels, headers);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe("UNAUTHENTICATED");
    expect(await stored()).toEqual(before);
  });

  test("with their credentials the same calls are stored: the gate is the credential, not the content", async () => {
    expect((await post(`${m.url}/v1/events`, { events: forged.events.slice(0, 2) })).body).toMatchObject({ inserted: 2 });
    expect((await post(`${m.url}/v1/feedback`, wrongLabels.slice(0, 2))).body).toMatchObject({ inserted: 2, labelled: 2 });
  });
});

describe("reads need READ_TOKEN", () => {
  const reads = ["/v1/models", "/v1/models/fraud-detector/quality", "/v1/models/fraud-detector/predictions", "/v1/alerts/actions"];

  test.each(reads)("GET %s: 401 without it or with a producer's token, 200 with it", async (path) => {
    expect((await request("GET", `${m.url}${path}`)).status).toBe(401);
    expect((await request("GET", `${m.url}${path}`, undefined, { authorization: bearerHeader(TOKENS.EVENTS_TOKEN) })).status).toBe(401);
    expect((await request("GET", `${m.url}${path}`, undefined, { authorization: bearerHeader(TOKENS.ALERT_RECEIVER_TOKEN) })).status).toBe(401);
    const ok = await request("GET", `${m.url}${path}`, undefined, { authorization: bearerHeader(TOKENS.READ_TOKEN) });
    expect(ok.status).toBe(200);
  });

  test("the health probes stay open (the kubelet has no token)", async () => {
    expect((await request("GET", `${m.url}/health/live`)).status).toBe(200);
    expect((await request("GET", `${m.url}/health/ready`)).status).toBe(200);
  });
});

describe("the Alertmanager receiver has a listener of its own", () => {
  const payload = {
    version: "4",
    groupKey: "{}:{}",
    status: "firing",
    receiver: "mlops-monitor",
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: "http://alertmanager.local:9093",
    alerts: [{ status: "firing", labels: { alertname: "ModelQualityLow", model: "fraud-detector" }, annotations: {}, startsAt: "2026-03-01T10:00:00Z", endsAt: "0001-01-01T00:00:00Z", fingerprint: "f00d" }],
  };
  const alertmanager = { authorization: bearerHeader(TOKENS.ALERT_RECEIVER_TOKEN) };

  test("POST /v1/alerts on PORT is 404, even with the receiver's token", async () => {
    const res = await request("POST", `${m.url}/v1/alerts`, payload, alertmanager);
    expect(res.status).toBe(404);
    expect(res.body.code).toBe("NOT_FOUND");
  });

  test("on ALERT_PORT: 401 without the token, 200 with it", async () => {
    expect(m.alertsUrl).not.toBe(m.url);
    const none = await request("POST", `${m.alertsUrl}/v1/alerts`, payload);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toContain('realm="mlops-monitor-alerts"');
    expect((await request("POST", `${m.alertsUrl}/v1/alerts`, payload, { authorization: bearerHeader(TOKENS.READ_TOKEN) })).status).toBe(401);
    const ok = await request("POST", `${m.alertsUrl}/v1/alerts`, payload, alertmanager);
    expect(ok.status).toBe(200);
    expect(ok.body.alerts).toEqual([{ alertname: "ModelQualityLow", fingerprint: "f00d", status: "firing", model: "fraud-detector", actions: [] }]);
  });

  test("the receiver's listener starts and drains with the service: an alert in flight is answered, then the port closes", async () => {
    const own = await startTestMonitor(db.url);
    const body = Buffer.from(JSON.stringify(payload));
    const u = new URL(`${own.alertsUrl}/v1/alerts`);
    const answer = new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: u.hostname, port: u.port, path: u.pathname, method: "POST", headers: { "content-type": "application/json", "content-length": body.length, ...alertmanager } },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.write(body.subarray(0, 20));
      setTimeout(() => req.end(body.subarray(20)), 500);
    });
    await new Promise((r) => setTimeout(r, 200));
    const closing = own.close();
    expect(await answer).toBe(200);
    await closing;
    await expect(fetch(`${own.alertsUrl}/v1/alerts`, { method: "POST" })).rejects.toThrow();
  });

  test("ALERT_PORT serves nothing else", async () => {
    expect((await request("POST", `${m.alertsUrl}/v1/events`, { events: [event({ id: "via-alerts:0" })] }, { authorization: bearerHeader(TOKENS.EVENTS_TOKEN) })).status).toBe(404);
    expect((await request("GET", `${m.alertsUrl}/v1/alerts/actions`, undefined, { authorization: bearerHeader(TOKENS.READ_TOKEN) })).status).toBe(404);
    expect((await request("GET", `${m.alertsUrl}/v1/models`, undefined, { authorization: bearerHeader(TOKENS.READ_TOKEN) })).status).toBe(404);
  });
});

describe("known models only", () => {
  test("events of invented models are refused one by one; the batch's known models are stored; no series or rows appear", async () => {
    // As in the issue: one 2,000-event request with invented names (before: 2,000 rows, 4,000 series).
    const known = Array.from({ length: 1000 }, (_, i) => event({ id: `known-${i}:0` }));
    const invented = Array.from({ length: 1000 }, (_, i) => event({ id: `invented-${i}:0`, model: `invented-model-${i}` }));
    const events = known.flatMap((k, i) => [k, invented[i]]);
    const res = await post(`${m.url}/v1/events`, { events });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ received: 2000, inserted: 1000, duplicates: 0 });
    expect(res.body.refused).toHaveLength(1000);
    expect(res.body.refused[0]).toEqual({ index: 1, id: "invented-0:0", error: 'model: "invented-model-0" is not monitored here (MODELS_CONFIG names the models the monitor accepts)' });
    expect(res.body.refused.every((r: { index: number }) => r.index % 2 === 1)).toBe(true);

    expect(await count(db.url, "predictions", "prediction_id LIKE 'known-%'")).toBe(1000);
    expect(await count(db.url, "predictions", "model LIKE 'invented-%'")).toBe(0);
    expect(await sql(db.url, "SELECT model FROM monitored_models ORDER BY 1")).toEqual([{ model: "fraud-detector" }]);

    await m.app.quality.refresh();
    const text = (await get(m.metricsUrl)).body as string;
    expect(text).not.toContain("invented-model");
    expect(sample(text, "mlops_monitor_events_rejected_total", { reason: "unknown_model" })).toBe(1000);
    expect((await get(`${m.url}/v1/models`)).body.models).not.toContain("invented-model-0");
    expect((await get(`${m.url}/v1/models/invented-model-0/quality`)).status).toBe(404);
  });

  test("rows of models no longer configured are pruned at start-up", async () => {
    await sql(db.url, "INSERT INTO monitored_models (model) SELECT 'retired-' || i FROM generate_series(1, 500) i");
    const restarted = await startTestMonitor(db.url);
    try {
      expect(await sql(db.url, "SELECT model FROM monitored_models ORDER BY 1")).toEqual([{ model: "fraud-detector" }]);
    } finally {
      await restarted.close();
    }
  });
});

test("a 300-character request id is refused alone: the batch's 20 other predictions are stored", async () => {
  const events = Array.from({ length: 21 }, (_, i) => event({ id: `rid-${i}:0` }));
  events[7] = { ...events[7], requestId: "r".repeat(300) };
  const res = await post(`${m.url}/v1/events`, { events });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ received: 21, inserted: 20 });
  expect(res.body.refused).toEqual([{ index: 7, id: "rid-7:0", error: expect.stringContaining("requestId: ") }]);
  expect(await count(db.url, "predictions", "prediction_id LIKE 'rid-%'")).toBe(20);
});

/**
 * POSTs a valid-looking event batch of about `bytes` to /v1/events, streamed in 64 KiB writes of one
 * reused buffer (the client holds no copy of it), with or without a content-length.
 */
function postLargeBatch(url: string, bytes: number, opts: { chunked?: boolean } = {}): Promise<{ status: number; body: any }> {
  const unit = Buffer.from(`${JSON.stringify(event({ id: "big:0", features: { text: "y".repeat(900) } }))},`);
  const prefix = Buffer.from('{"events":[');
  const last = Buffer.from(`${JSON.stringify(event({ id: "big-last:0" }))}]}`);
  const perBlock = Math.max(1, Math.floor(65536 / unit.length));
  const block = Buffer.concat(Array.from({ length: perBlock }, () => unit));
  const units = Math.ceil(bytes / unit.length);
  const length = prefix.length + units * unit.length + last.length;
  const u = new URL(`${url}/v1/events`);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { "content-type": "application/json", authorization: bearerHeader(TOKENS.EVENTS_TOKEN) };
    if (!opts.chunked) headers["content-length"] = length;
    let answered = false;
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        answered = true;
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || "null") });
        req.destroy(); // stop sending the rest
      });
    });
    req.on("error", (err) => {
      if (!answered) reject(err);
    });
    let left = units;
    const pump = () => {
      if (answered) return;
      if (!req.write(prefix)) return void req.once("drain", rest);
      rest();
    };
    const rest = () => {
      while (left > 0 && !answered) {
        const n = Math.min(perBlock, left);
        left -= n;
        const ok = req.write(n === perBlock ? block : block.subarray(0, n * unit.length));
        if (!ok) return void req.once("drain", rest);
      }
      if (!answered) req.end(last);
    };
    pump();
  });
}

describe("bounded memory", () => {
  const MiB = 1024 * 1024;

  test("three concurrent 30 MiB batches: 413 each, without reading them, and memory stays flat", async () => {
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    try {
      const results = await Promise.all([0, 1, 2].map(() => postLargeBatch(m.url, 30 * MiB)));
      expect(results.map((r) => r.status)).toEqual([413, 413, 413]);
      expect(results[0].body).toEqual({ error: `request body exceeds the limit of ${4 * MiB} bytes`, code: "PAYLOAD_TOO_LARGE" });
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    expect((peak - before) / MiB).toBeLessThan(100);
    expect(await count(db.url, "predictions", "prediction_id LIKE 'big%'")).toBe(0);
  });

  test("without a content-length (chunked), the read stops at MAX_BODY_BYTES: 413", async () => {
    const before = process.memoryUsage().rss;
    const results = await Promise.all([0, 1].map(() => postLargeBatch(m.url, 30 * MiB, { chunked: true })));
    expect(results.map((r) => [r.status, r.body.code])).toEqual([
      [413, "PAYLOAD_TOO_LARGE"],
      [413, "PAYLOAD_TOO_LARGE"],
    ]);
    expect((process.memoryUsage().rss - before) / MiB).toBeLessThan(100);
  });
});

describe("bounded concurrency (MAX_CONCURRENT_BATCHES=1)", () => {
  let busy: TestMonitor;
  beforeAll(async () => {
    busy = await startTestMonitor(db.url, { MAX_CONCURRENT_BATCHES: "1" });
  });
  afterAll(async () => {
    await busy?.close();
  });

  test("a body beyond the bound is answered 503 BUSY with retry-after at once; the one in flight completes", async () => {
    const body = Buffer.from(JSON.stringify({ events: [event({ id: "slow-1:0" })] }));
    // One request holds the only slot: its headers are in, its body arrives slowly.
    const u = new URL(`${busy.url}/v1/events`);
    const slow = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        { host: u.hostname, port: u.port, path: u.pathname, method: "POST", headers: { "content-type": "application/json", "content-length": body.length, authorization: bearerHeader(TOKENS.EVENTS_TOKEN) } },
        (res) => {
          let text = "";
          res.on("data", (c) => (text += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on("error", reject);
      req.write(body.subarray(0, 10));
      setTimeout(() => req.end(body.subarray(10)), 1500);
    });
    await new Promise((r) => setTimeout(r, 300));

    const refused = await post(`${busy.url}/v1/events`, { events: [event({ id: "busy-1:0" })] });
    expect(refused.status).toBe(503);
    expect(refused.body).toEqual({ error: "the monitor is processing 1 request bodies already (MAX_CONCURRENT_BATCHES); retry later", code: "BUSY" });
    expect(refused.headers.get("retry-after")).toBe("1");
    const feedback = await post(`${busy.url}/v1/feedback`, { prediction_id: "busy-1:0", actual: 1 });
    expect(feedback.status).toBe(503);

    const done = await slow;
    expect(done.status).toBe(200);
    expect(JSON.parse(done.body)).toMatchObject({ inserted: 1 });
    // The slot is free again: serving's retry goes through.
    expect((await post(`${busy.url}/v1/events`, { events: [event({ id: "busy-1:0" })] })).body).toMatchObject({ inserted: 1 });
    expect(await count(db.url, "predictions", "prediction_id IN ('slow-1:0', 'busy-1:0')")).toBe(2);
    const text = (await get(busy.metricsUrl)).body as string;
    expect(sample(text, "mlops_monitor_requests_busy_total", { kind: "events" })).toBe(1);
    expect(sample(text, "mlops_monitor_requests_busy_total", { kind: "feedback" })).toBe(1);
  });

  test("refused requests (401, 413) take no slot", async () => {
    for (let i = 0; i < 3; i++) expect((await request("POST", `${busy.url}/v1/events`, { events: [] })).status).toBe(401);
    expect((await post(`${busy.url}/v1/events`, "x".repeat(5 * 1024 * 1024))).status).toBe(413);
    expect((await post(`${busy.url}/v1/events`, { events: [event({ id: "after-refusals:0" })] })).status).toBe(200);
  });
});

test("the monitor listens before its first quality refresh, however slow that is", async () => {
  let finish!: () => void;
  const slowRefresh = new Promise<void>((resolve) => (finish = resolve));
  const spy = jest.spyOn(QualityService.prototype, "refresh").mockImplementation(() => slowRefresh);
  const started = Date.now();
  const starting = startTestMonitor(db.url);
  try {
    const first = await Promise.race([starting, new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 5000))]);
    expect(first).not.toBe("timeout");
    const early = first as TestMonitor;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(spy).toHaveBeenCalled();
    expect((await request("GET", `${early.url}/health/live`)).status).toBe(200);
    expect((await post(`${early.url}/v1/events`, { events: [event({ id: "while-refreshing:0" })] })).status).toBe(200);
  } finally {
    finish();
    spy.mockRestore();
    await (await starting).close();
  }
});
