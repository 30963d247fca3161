/**
 * The drift service over real HTTP: ingestion and its validation, windows, evaluations, metrics, the
 * ad hoc endpoint, webhooks (signed, retried, failures counted) and graceful shutdown.
 */
import { createLogger, parseEnv, verifySignature, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "@mlops/common";
import { startDriftService, type DriftApp } from "../../../services/drift/src/service/app";
import { envSchema } from "../../../services/drift/src/service/env";
import { EVENTS_TOKEN, events, getJson, metricValue, MODEL, post, referenceProfile, webhookReceiver, writeProfile, waitFor } from "./helpers/world";

const SECRET = "s3cret-webhook-signing-key";

describe("drift service", () => {
  let app: DriftApp;
  let base: string;
  let metricsUrl: string;
  let hook: Awaited<ReturnType<typeof webhookReceiver>>;
  let failingHook: Awaited<ReturnType<typeof webhookReceiver>>;
  const scrape = async () => (await fetch(metricsUrl)).text();

  beforeAll(async () => {
    hook = await webhookReceiver(200);
    failingHook = await webhookReceiver(503);
    const env = parseEnv(envSchema, {
      PORT: "0",
      METRICS_PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "silent",
      MODEL_NAME: MODEL,
      EVENTS_TOKEN,
      REFERENCE_URI: `file://${writeProfile(referenceProfile())}`,
      EVALUATION_INTERVAL_S: "3600",
      WINDOW_MAX_ROWS: "2000",
      MAX_BODY_BYTES: "2000000",
      MAX_BATCH_EVENTS: "3000",
      WEBHOOK_URLS: `${hook.url},${failingHook.url}`,
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_RETRIES: "2",
      WEBHOOK_BACKOFF_MS: "10",
    });
    app = await startDriftService(env, createLogger("drift-test", "silent"));
    await app.referenceLoaded;
    base = `http://127.0.0.1:${app.service.apiPort}`;
    metricsUrl = `http://127.0.0.1:${app.service.metricsPort}/metrics`;
  });

  afterAll(async () => {
    await app?.close();
    await hook?.close();
    await failingHook?.close();
  });

  it("is live and ready once the reference is loaded", async () => {
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    expect((await getJson(base, "/health/ready")).json.status).toBe("ready");
    expect((await getJson(base, "/v1/reference")).json.uri).toMatch(/reference_profile\.json$/);
  });

  it("accepts a valid batch and says there is not enough data yet", async () => {
    const res = await post(base, "/v1/events", { events: events(600, { seed: 1 }) });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ accepted: 600, skipped: 0, refused: [], windowRows: 600 });
    const report = (await post(base, "/v1/drift/evaluate", {})).json;
    expect(report.status).toBe("insufficient_data");
    expect(report.message).toMatch(/600 current rows; at least 1000/);
    expect(report.datasetDrift).toBeNull();
    expect(report.features.every((f: any) => f.drift === null && f.status === "insufficient_data")).toBe(true);
    const metrics = await scrape();
    expect(metricValue(metrics, "mlops_drift_window_rows", { model: MODEL })).toBe(600);
    expect(metricValue(metrics, "mlops_drift_events_ingested_total", { model: MODEL })).toBe(600);
    expect(metricValue(metrics, "mlops_drift_share", { model: MODEL })).toBeUndefined();
    expect(metricValue(metrics, "mlops_drift_detected", { model: MODEL, feature: "v1" })).toBeUndefined();
  });

  describe("refuses a bad event alone, naming it; the batch's other events are ingested", () => {
    const good = () => events(5, { seed: 2 });
    // [name, the batch, index of the refused event, its code, its error]
    const cases: [string, () => any[], number, string, RegExp][] = [
      ["unknown feature", () => [...good(), { ...good()[0], id: "extra:0", features: { ...good()[0].features, v29: 1 } }], 5, "UNKNOWN_FEATURE", /unknown feature\(s\) "v29"/],
      ["missing feature", () => { const e = good(); delete (e[2].features as any).amount; return e; }, 2, "MISSING_FEATURE", /feature "amount" is missing/],
      ["text in a numeric feature", () => { const e = good(); (e[1].features as any).v1 = "1.5"; return e; }, 1, "WRONG_TYPE", /"v1" must be a number or null, got a string/],
      ["object as a feature value (the contract)", () => { const e = good(); (e[1].features as any).channel = { a: 1 }; return e; }, 1, "INVALID_EVENT", /"features.channel": expected a number, string, boolean or null/],
      ["a boolean in a numeric feature (a number in a categorical one is a category)", () => { const e = good(); (e[1].features as any).channel = 3; (e[2].features as any).v2 = true; return e; }, 2, "WRONG_TYPE", /"v2" must be a number or null, got boolean/],
      ["another model", () => [...good(), ...events(1, { model: "other-model" })], 5, "WRONG_MODEL", /watches "fraud-detector"/],
      ["bad timestamp", () => { const e = good(); (e[0] as any).timestamp = "yesterday"; return e; }, 0, "INVALID_EVENT", /"timestamp": Invalid ISO datetime/],
      ["bad variant", () => { const e = good(); (e[0] as any).variant = "canary"; return e; }, 0, "INVALID_EVENT", /"variant": Invalid option: expected one of "champion"\|"challenger"\|"shadow"/],
      ["missing output", () => { const e = good(); delete (e[4].outputs as any).probability; return e; }, 4, "MISSING_OUTPUT", /output "probability" is missing/],
      ["a 300-character request id (the issue's attack)", () => { const e = good(); (e[3] as any).requestId = "x".repeat(300); return e; }, 3, "INVALID_EVENT", /"requestId": Too big/],
    ];
    it.each(cases)("%s", async (_name, make, index, code, message) => {
      const before = await scrape();
      const batch = make();
      const res = await post(base, "/v1/events", { events: batch });
      expect(res.status).toBe(200);
      expect(res.json.accepted).toBe(batch.length - 1);
      expect(res.json.refused).toEqual([{ index, id: batch[index].id, code, error: expect.stringMatching(message) }]);
      const after = await scrape();
      const ingested = (text: string) => metricValue(text, "mlops_drift_events_ingested_total", { model: MODEL })!;
      expect(ingested(after) - ingested(before)).toBe(batch.length - 1);
      const refused = (text: string) => metricValue(text, "mlops_drift_events_rejected_total", { model: MODEL, reason: code.toLowerCase() }) ?? 0;
      expect(refused(after) - refused(before)).toBe(1);
    });

    it("a batch of only bad events ingests nothing and lists each", async () => {
      const batch = good().map((e, i) => ({ ...e, variant: i % 2 ? "canary" : e.variant, model: i % 2 ? e.model : "other" }));
      const res = await post(base, "/v1/events", { events: batch });
      expect(res.status).toBe(200);
      expect(res.json).toMatchObject({ accepted: 0, skipped: 0 });
      expect(res.json.refused.map((r: any) => [r.index, r.code])).toEqual([[0, "WRONG_MODEL"], [1, "INVALID_EVENT"], [2, "WRONG_MODEL"], [3, "INVALID_EVENT"], [4, "WRONG_MODEL"]]);
    });

    it("a body that is no batch is refused whole: too many events (413)", async () => {
      const before = await scrape();
      const res = await post(base, "/v1/events", { events: events(3001, { seed: 3 }) });
      expect([res.status, res.json.code]).toEqual([413, "BATCH_TOO_LARGE"]);
      expect(res.json.error).toMatch(/3001 events; at most 3000/);
      const after = await scrape();
      expect(metricValue(after, "mlops_drift_window_rows", { model: MODEL })).toBe(metricValue(before, "mlops_drift_window_rows", { model: MODEL }));
      expect(metricValue(after, "mlops_drift_events_ingested_total", { model: MODEL })).toBe(metricValue(before, "mlops_drift_events_ingested_total", { model: MODEL }));
    });

    it("invalid JSON, an empty batch and an oversized body", async () => {
      const broken = await post(base, "/v1/events", '{"events": [');
      expect([broken.status, broken.json.code]).toEqual([400, "INVALID_JSON"]);
      const empty = await post(base, "/v1/events", { events: [] });
      expect([empty.status, empty.json.code]).toEqual([400, "INVALID_BATCH"]);
      for (const notABatch of [[], { events: "many" }, { event: [] }, '"events"', "null"]) {
        const res = await post(base, "/v1/events", notABatch);
        expect([res.status, res.json.code]).toEqual([400, "INVALID_BATCH"]);
      }
      const huge = await post(base, "/v1/events", "x".repeat(2_100_000));
      expect([huge.status, huge.json.code]).toEqual([413, "PAYLOAD_TOO_LARGE"]);
      const metrics = await scrape();
      for (const reason of ["unknown_feature", "wrong_type", "wrong_model", "too_large", "invalid_json", "invalid_event", "missing_feature"]) {
        expect(metricValue(metrics, "mlops_drift_events_rejected_total", { model: MODEL, reason })).toBeGreaterThan(0);
      }
    });
  });

  it("skips variants it does not watch (shadow) without rejecting them", async () => {
    const before = metricValue(await scrape(), "mlops_drift_window_rows", { model: MODEL })!;
    const res = await post(base, "/v1/events", { events: [...events(10, { seed: 4, variant: "shadow" }), ...events(400, { seed: 4, variant: "challenger" })] });
    expect(res.json).toEqual({ accepted: 400, skipped: 10, refused: [], windowRows: before + 400 });
    expect(metricValue(await scrape(), "mlops_drift_events_skipped_total", { model: MODEL, reason: "variant" })).toBe(10);
  });

  it("evaluates the window: no drift on data like the reference, metrics per feature and method", async () => {
    await post(base, "/v1/events", { events: events(1000, { seed: 5 }) });
    const report = (await post(base, "/v1/drift/evaluate", {})).json;
    expect(report.status).toBe("ok");
    expect(report.current.rows).toBe(2000); // WINDOW_MAX_ROWS
    expect(report.datasetDrift).toBe(false);
    expect(report.severity).toBe("none");
    const v1 = report.features.find((f: any) => f.name === "v1");
    expect(v1).toMatchObject({ method: "wasserstein", drift: false, status: "ok" });
    expect(Object.keys(v1.scores).sort()).toEqual(["hellinger", "jensenshannon", "ks", "psi", "wasserstein"]);
    expect(report.features.find((f: any) => f.name === "channel").method).toBe("jensenshannon");
    expect(report.outputs.map((o: any) => o.name)).toEqual(["probability"]);
    expect(report.multivariate).toMatchObject({ method: "pca_reconstruction_error", drift: false });
    const metrics = await scrape();
    expect(metricValue(metrics, "mlops_drift_share", { model: MODEL })).toBe(0);
    expect(metricValue(metrics, "mlops_drift_dataset_drift", { model: MODEL })).toBe(0);
    expect(metricValue(metrics, "mlops_drift_detected", { model: MODEL, feature: "v1" })).toBe(0);
    for (const method of ["ks", "wasserstein", "psi", "jensenshannon", "hellinger"]) {
      expect(metricValue(metrics, "mlops_drift_score", { model: MODEL, feature: "v2", method })).toBeGreaterThanOrEqual(0);
    }
    expect(metricValue(metrics, "mlops_drift_score", { model: MODEL, feature: "channel", method: "chisquare" })).toBeGreaterThanOrEqual(0);
    expect(metricValue(metrics, "mlops_drift_evaluation_duration_seconds_count", { model: MODEL })).toBeGreaterThanOrEqual(2);
    expect((await getJson(base, "/v1/drift")).json.evaluatedAt).toBe(report.evaluatedAt);
    expect(hook.received).toHaveLength(0);
  });

  it("detects drift when the window fills with shifted data and notifies the webhooks, signed", async () => {
    for (let i = 0; i < 2; i++) await post(base, "/v1/events", { events: events(1000, { seed: 10 + i, shift: 1 }) });
    const report = (await post(base, "/v1/drift/evaluate", {})).json;
    expect(report.datasetDrift).toBe(true);
    expect(report.driftedFeatures).toEqual(expect.arrayContaining(["v1", "v2", "v3", "channel"]));
    expect(report.features.find((f: any) => f.name === "channel").unseenCategories.values).toContain("crypto");
    expect(["medium", "high", "critical"]).toContain(report.severity);
    const metrics = await scrape();
    expect(metricValue(metrics, "mlops_drift_dataset_drift", { model: MODEL })).toBe(1);
    expect(metricValue(metrics, "mlops_drift_share", { model: MODEL })).toBe(report.driftShare);
    expect(metricValue(metrics, "mlops_drift_detected", { model: MODEL, feature: "v1" })).toBe(1);

    const delivered = await waitFor(() => hook.received[0], "the webhook");
    const payload = JSON.parse(delivered.body);
    expect(payload).toMatchObject({ type: "drift_detected", model: MODEL, datasetDrift: true, previousDatasetDrift: false });
    expect(payload.driftedFeatures.map((f: any) => f.name)).toEqual(report.driftedFeatures);
    const timestamp = delivered.headers[TIMESTAMP_HEADER] as string;
    expect(verifySignature(SECRET, timestamp, delivered.body, delivered.headers[SIGNATURE_HEADER] as string)).toBe(true);
    // The failing receiver got the first attempt and both retries; the failure is counted once.
    await waitFor(async () => metricValue(await scrape(), "mlops_drift_webhook_failures_total", { model: MODEL }) === 1, "the failure count");
    expect(failingHook.received).toHaveLength(3);
    expect(metricValue(await scrape(), "mlops_drift_webhooks_sent_total", { model: MODEL })).toBe(1);

    // Same verdict again: no new notification.
    await post(base, "/v1/drift/evaluate", {});
    await new Promise((r) => setTimeout(r, 100));
    expect(hook.received).toHaveLength(1);
  });

  it("notifies again when the drift goes away", async () => {
    for (let i = 0; i < 2; i++) await post(base, "/v1/events", { events: events(1000, { seed: 40 + i }) });
    const report = (await post(base, "/v1/drift/evaluate", {})).json;
    expect(report.datasetDrift).toBe(false);
    const delivered = await waitFor(() => hook.received[1], "the second webhook");
    expect(JSON.parse(delivered.body)).toMatchObject({ type: "drift_resolved", datasetDrift: false, previousDatasetDrift: true });
  });

  it("compares ad hoc data against the reference without touching the window", async () => {
    const rows = events(1200, { seed: 20 }).map((e) => ({ ...e.features, probability: e.outputs.probability }));
    const res = await post(base, "/v1/drift/detect", { rows });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ status: "ok", datasetDrift: false, current: { rows: 1200 } });
    const columns = Object.fromEntries(Object.keys(rows[0]).filter((k) => k !== "probability").map((k) => [k, rows.map((r) => (r as any)[k])]));
    const byColumns = await post(base, "/v1/drift/detect", { columns });
    expect(byColumns.json.features.map((f: any) => f.statistic)).toEqual(res.json.features.map((f: any) => f.statistic));
    expect(byColumns.json.outputs[0].status).toBe("insufficient_data");
    const unknown = await post(base, "/v1/drift/detect", { rows: [{ ...rows[0], v99: 1 }] });
    expect([unknown.status, unknown.json.code]).toEqual([400, "INVALID_DETECT_REQUEST"]);
    expect(unknown.json.error).toMatch(/unknown column "v99"/);
    expect(metricValue(await scrape(), "mlops_drift_window_rows", { model: MODEL })).toBe(2000);
  });

  it("serves the report as HTML and answers unknown routes with the error body", async () => {
    const res = await fetch(`${base}/v1/drift/report`);
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
    expect(await res.text()).toMatch(/No dataset drift: 0 of 6 features drifted/);
    const missing = await getJson(base, "/v1/nothing");
    expect([missing.status, missing.json.code]).toEqual([404, "NOT_FOUND"]);
    const wrongMethod = await getJson(base, "/v1/events");
    expect([wrongMethod.status, wrongMethod.json.code]).toEqual([405, "METHOD_NOT_ALLOWED"]);
  });
});
