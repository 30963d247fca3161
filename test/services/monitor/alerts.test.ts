/**
 * The Alertmanager receiver against a local MLflow REST stand-in (test/helpers/mlflow-stub.ts) and a
 * local retraining webhook: the champion alias moves once, a failing challenger is demoted once (its alias
 * pointed at the champion's version: EDIT, never DELETE), every action is recorded with who, what and why,
 * repeats and resolved alerts act on nothing, failures are recorded and retried, and the webhook URL's
 * credentials are never shown. The receiver listens on ALERT_PORT only.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, redactUrl, verifySignature } from "@mlops/common";
import pino from "pino";
import { MlflowStub } from "../../helpers/mlflow-stub";
import { useTestDatabase } from "../../helpers/postgres";
import { count, get, post, sample, sql, startTestMonitor, type TestMonitor } from "./support";

const db = useTestDatabase("monitor_alerts");
const TOKEN = "alertmanager-token-0123456789";
const SECRET = "retrain-webhook-secret-0123456789";
const AUTH = { authorization: `Bearer ${TOKEN}` };
const HOOK_PATH_TOKEN = "hook-path-token-5f2e9a";
const HOOK_QUERY_TOKEN = "hook-query-token-77c1d0";
const RULE_USERINFO_SECRET = "rule-userinfo-secret-3b8";
/** Every log line of the monitor under test. */
const logLines: string[] = [];

/** A retraining webhook that records what it got and answers `status` (changeable). */
class Hook {
  readonly received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  status = 200;
  private server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      this.received.push({ headers: req.headers, body });
      res.writeHead(this.status).end();
    });
  });
  url = "";
  origin = "";
  async start() {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    // As a CI trigger's URL does, it carries its token (in the path and the query).
    this.url = `${this.origin}/hooks/retrain/${HOOK_PATH_TOKEN}?token=${HOOK_QUERY_TOKEN}`;
  }
  stop() {
    this.server.closeAllConnections();
    return new Promise<void>((r) => this.server.close(() => r()));
  }
}

let m: TestMonitor;
let mlflow: MlflowStub;
const hook = new Hook();

beforeAll(async () => {
  mlflow = new MlflowStub({ basicAuth: { username: "monitor", password: "monitor-pw" } });
  await mlflow.start();
  mlflow.registerVersion("fraud-detector");
  mlflow.registerVersion("fraud-detector");
  mlflow.registerVersion("fraud-detector", { aliases: ["champion"] });
  mlflow.registerVersion("churn-model");
  mlflow.registerVersion("churn-model", { aliases: ["champion"] });
  await hook.start();
  m = await startTestMonitor(db.url, {
    ALERT_ACTIONS: JSON.stringify([
      { alert: "ModelQualityLow", model: "fraud-detector", action: "rollback" },
      { alert: "ModelQualityLow", model: "churn-model", action: "rollback" },
      { alert: "DataDriftCritical", action: "retrain" },
      // A rule's own URL with credentials: fetch refuses it with an error that quotes the URL.
      { alert: "ModelStale", action: "retrain", url: `http://retrain:${RULE_USERINFO_SECRET}@${hook.origin.slice("http://".length)}/hooks/stale` },
    ]),
    ALERT_RECEIVER_TOKEN: TOKEN,
    MLFLOW_TRACKING_URI: mlflow.url,
    MLFLOW_TRACKING_USERNAME: "monitor",
    MLFLOW_TRACKING_PASSWORD: "monitor-pw",
    RETRAIN_WEBHOOK_URL: hook.url,
    RETRAIN_WEBHOOK_SECRET: SECRET,
    WEBHOOK_RETRIES: "1",
    WEBHOOK_BACKOFF_MS: "10",
    LOG_LEVEL: "debug",
  }, { logger: pino({ level: "debug" }, { write: (line: string) => void logLines.push(line) }) });
});

afterAll(async () => {
  await m?.close();
  await mlflow?.stop();
  await hook.stop();
});

/** Alertmanager's webhook body (version 4) with one alert. */
function notification(alert: { status?: "firing" | "resolved"; labels: Record<string, string>; startsAt?: string; fingerprint?: string }) {
  const status = alert.status ?? "firing";
  const labels: Record<string, string> = { platform: "mlops", severity: "critical", ...alert.labels };
  return {
    version: "4",
    groupKey: `{}/{platform="mlops"}:{alertname="${labels.alertname}", model="${labels.model ?? ""}"}`,
    truncatedAlerts: 0,
    status,
    receiver: "mlops-monitor",
    groupLabels: { alertname: labels.alertname },
    commonLabels: labels,
    commonAnnotations: {},
    externalURL: "http://alertmanager.local:9093",
    alerts: [
      {
        status,
        labels,
        annotations: { summary: `${labels.alertname} on ${labels.model}`, description: "accuracy 0.71 over the last 1h (threshold 0.85)" },
        startsAt: alert.startsAt ?? "2026-03-01T10:00:00.123456789Z",
        endsAt: status === "resolved" ? "2026-03-01T11:00:00Z" : "0001-01-01T00:00:00Z",
        generatorURL: "http://prometheus.local:9090/graph",
        fingerprint: alert.fingerprint ?? "a1b2c3d4e5f60718",
      },
    ],
  };
}

/** The calls that moved an alias (champion unless said) of a model. */
const aliasMoves = (model = "fraud-detector", alias = "champion") =>
  mlflow.requests.filter((r) => r.method === "POST" && r.path === "/api/2.0/mlflow/registered-models/alias" && (r.body as { name?: string; alias?: string })?.name === model && (r.body as { alias?: string }).alias === alias);
const qualityLow = { alertname: "ModelQualityLow", model: "fraud-detector", version: "3", variant: "champion" };

describe("rollback", () => {
  test("a firing ModelQualityLow moves champion to the previous version and records who, what and why", async () => {
    const res = await post(`${m.alertsUrl}/v1/alerts`, notification({ labels: qualityLow }), AUTH);
    expect(res.status).toBe(200);
    expect(res.body.alerts).toEqual([
      {
        alertname: "ModelQualityLow",
        fingerprint: "a1b2c3d4e5f60718",
        status: "firing",
        model: "fraud-detector",
        actions: [{ action: "rollback", result: "succeeded", recordId: expect.any(Number), detail: { model: "fraud-detector", alias: "champion", from: "3", to: "2" } }],
      },
    ]);
    expect(mlflow.alias("fraud-detector", "champion")).toBe("2");
    expect(aliasMoves()).toHaveLength(1);
    expect(aliasMoves()[0].body).toEqual({ name: "fraud-detector", alias: "champion", version: "2" });

    const [record] = await sql(db.url, "SELECT * FROM alert_actions");
    expect(record).toMatchObject({
      alertname: "ModelQualityLow",
      fingerprint: "a1b2c3d4e5f60718",
      model: "fraud-detector",
      action: "rollback",
      status: "succeeded",
      receiver: "mlops-monitor",
      group_key: '{}/{platform="mlops"}:{alertname="ModelQualityLow", model="fraud-detector"}',
      labels: { platform: "mlops", severity: "critical", ...qualityLow },
      annotations: { summary: "ModelQualityLow on fraud-detector", description: "accuracy 0.71 over the last 1h (threshold 0.85)" },
      detail: { model: "fraud-detector", alias: "champion", from: "3", to: "2" },
      error: null,
      attempts: 1,
    });
    expect((record.starts_at as Date).toISOString()).toBe("2026-03-01T10:00:00.123Z");
  });

  test("the same alert again (Alertmanager repeats it) does not roll back twice", async () => {
    for (let i = 0; i < 2; i++) {
      const res = await post(`${m.alertsUrl}/v1/alerts`, notification({ labels: qualityLow }), AUTH);
      expect(res.body.alerts[0].actions).toEqual([{ action: "rollback", result: "duplicate", recordId: expect.any(Number) }]);
    }
    expect(mlflow.alias("fraud-detector", "champion")).toBe("2");
    expect(aliasMoves()).toHaveLength(1);
    expect(await count(db.url, "alert_actions")).toBe(1);
  });

  test("a new firing of the alert about version 3 moves nothing: champion is version 2 by now", async () => {
    const res = await post(`${m.alertsUrl}/v1/alerts`, notification({ labels: qualityLow, startsAt: "2026-03-01T12:00:00Z" }), AUTH);
    expect(res.body.alerts[0].actions[0]).toMatchObject({ action: "rollback", result: "skipped", error: "fraud-detector@champion is version 2, not the alerting version 3: nothing to roll back" });
    expect(mlflow.alias("fraud-detector", "champion")).toBe("2");
    expect(aliasMoves()).toHaveLength(1);
    expect(await count(db.url, "alert_actions", "status = 'skipped'")).toBe(1);
  });

  test("resolved alerts and alerts without a configured action act on nothing", async () => {
    const before = await count(db.url, "alert_actions");
    const resolved = await post(`${m.alertsUrl}/v1/alerts`, notification({ status: "resolved", labels: qualityLow, startsAt: "2026-03-02T10:00:00Z", fingerprint: "ffff" }), AUTH);
    expect(resolved.body.alerts[0]).toMatchObject({ status: "resolved", actions: [] });
    const other = await post(`${m.alertsUrl}/v1/alerts`, notification({ labels: { alertname: "InferenceLatencyHigh", model: "fraud-detector" } }), AUTH);
    expect(other.body.alerts[0].actions).toEqual([]);
    const otherModel = await post(`${m.alertsUrl}/v1/alerts`, notification({ labels: { ...qualityLow, model: "other-model" }, fingerprint: "eeee" }), AUTH);
    expect(otherModel.body.alerts[0].actions).toEqual([]);
    // The platform API's alerts carry no model label (alert-rules.ts, group mlops-api): accepted, nothing done.
    const api = await post(`${m.alertsUrl}/v1/alerts`, notification({ labels: { alertname: "PlatformApiErrorRatioHigh", operation: "createPrediction" }, fingerprint: "a9a9" }), AUTH);
    expect(api.status).toBe(200);
    expect(api.body.alerts).toEqual([{ alertname: "PlatformApiErrorRatioHigh", fingerprint: "a9a9", status: "firing", actions: [] }]);
    expect(await count(db.url, "alert_actions")).toBe(before);
    expect(aliasMoves()).toHaveLength(1);
  });

  test("MLflow failing: the action is recorded as failed, and the next notification of the alert retries it", async () => {
    mlflow.failNext("/api/2.0/mlflow/registered-models/alias", 503);
    const churn = { alertname: "ModelQualityLow", model: "churn-model", version: "2", variant: "champion" };
    const failed = await post(`${m.alertsUrl}/v1/alerts`, notification({ labels: churn, fingerprint: "c0c0" }), AUTH);
    expect(failed.body.alerts[0].actions[0]).toMatchObject({ action: "rollback", result: "failed" });
    expect(failed.body.alerts[0].actions[0].error).toContain("failed with 503");
    expect(mlflow.alias("churn-model", "champion")).toBe("2");
    const retried = await post(`${m.alertsUrl}/v1/alerts`, notification({ labels: churn, fingerprint: "c0c0" }), AUTH);
    expect(retried.body.alerts[0].actions[0]).toMatchObject({ result: "succeeded", detail: { from: "2", to: "1" } });
    expect(mlflow.alias("churn-model", "champion")).toBe("1");
    expect(await sql(db.url, "SELECT status, attempts, error FROM alert_actions WHERE fingerprint = 'c0c0'")).toEqual([{ status: "succeeded", attempts: 2, error: null }]);
    // Every call carried the monitor's MLflow credentials.
    expect(mlflow.requests.every((r) => r.authorization === `Basic ${Buffer.from("monitor:monitor-pw").toString("base64")}`)).toBe(true);
  });

  const aliasDeletes = () => mlflow.requests.filter((r) => r.method === "DELETE" && r.path === "/api/2.0/mlflow/registered-models/alias");
  const challengerMoves = () => aliasMoves("fraud-detector", "challenger");

  test("the challenger's alert demotes the challenger by pointing its alias at the champion's version (EDIT, no DELETE), recorded, once", async () => {
    const challenger = mlflow.registerVersion("fraud-detector", { aliases: ["challenger"] });
    expect(challenger).toBe("4");
    const labels = { ...qualityLow, version: "4", variant: "challenger" };
    const res = await post(`${m.alertsUrl}/v1/alerts`, notification({ labels, fingerprint: "cccc" }), AUTH);
    expect(res.status).toBe(200);
    const demoted = { model: "fraud-detector", alias: "challenger", from: "4", to: "2", sameAs: "champion" };
    expect(res.body.alerts[0].actions).toEqual([{ action: "rollback", result: "succeeded", recordId: expect.any(Number), detail: demoted }]);
    // Serving treats a challenger that resolves to the champion's version as no challenger.
    expect(mlflow.alias("fraud-detector", "challenger")).toBe("2");
    expect(mlflow.alias("fraud-detector", "champion")).toBe("2");
    expect(aliasMoves()).toHaveLength(1);
    expect(challengerMoves().map((r) => r.body)).toEqual([{ name: "fraud-detector", alias: "challenger", version: "2" }]);
    // Deleting an alias needs MLflow's MANAGE, which the monitor's user no longer has.
    expect(aliasDeletes()).toEqual([]);
    const [record] = await sql(db.url, "SELECT action, status, model, detail, error, labels FROM alert_actions WHERE fingerprint = 'cccc'");
    expect(record).toMatchObject({ action: "rollback", status: "succeeded", model: "fraud-detector", detail: demoted, error: null });
    expect(record.labels).toMatchObject(labels);

    // Alertmanager repeating the notification: the claim holds, nothing is called.
    const again = await post(`${m.alertsUrl}/v1/alerts`, notification({ labels, fingerprint: "cccc" }), AUTH);
    expect(again.body.alerts[0].actions).toEqual([{ action: "rollback", result: "duplicate", recordId: expect.any(Number) }]);
    // The alert firing anew: the challenger is the champion's version already, so nothing moves.
    const later = await post(`${m.alertsUrl}/v1/alerts`, notification({ labels, fingerprint: "cccc", startsAt: "2026-03-01T12:00:00Z" }), AUTH);
    expect(later.body.alerts[0].actions[0]).toMatchObject({
      action: "rollback",
      result: "skipped",
      error: "fraud-detector@challenger is the champion version 2 already (demoted): nothing to demote",
    });
    expect(challengerMoves()).toHaveLength(1);
    expect(mlflow.alias("fraud-detector", "champion")).toBe("2");
  });

  test("an alert about an earlier challenger, or about the shadow variant, changes no alias", async () => {
    const newer = mlflow.registerVersion("fraud-detector", { aliases: ["challenger"] });
    const stale = await post(`${m.alertsUrl}/v1/alerts`, notification({ labels: { ...qualityLow, version: "4", variant: "challenger" }, fingerprint: "cdcd" }), AUTH);
    expect(stale.body.alerts[0].actions[0]).toMatchObject({ result: "skipped", error: `fraud-detector@challenger is version ${newer}, not the alerting version 4: nothing to demote` });
    const shadow = await post(`${m.alertsUrl}/v1/alerts`, notification({ labels: { ...qualityLow, version: newer, variant: "shadow" }, fingerprint: "cece" }), AUTH);
    expect(shadow.body.alerts[0].actions[0]).toMatchObject({ result: "skipped", error: "the alert is about the shadow variant; rollback moves only the champion alias" });
    expect(mlflow.alias("fraud-detector", "challenger")).toBe(newer);
    expect(mlflow.alias("fraud-detector", "champion")).toBe("2");
    expect(aliasDeletes()).toEqual([]);
    expect(aliasMoves()).toHaveLength(1);
    expect(challengerMoves()).toHaveLength(1);
  });

  test("rolling the champion back takes a demoted challenger along, so it stays no challenger", async () => {
    const v3 = mlflow.registerVersion("churn-model", { aliases: ["champion", "challenger"] });
    expect(v3).toBe("3");
    const res = await post(`${m.alertsUrl}/v1/alerts`, notification({ labels: { alertname: "ModelQualityLow", model: "churn-model", version: "3", variant: "champion" }, fingerprint: "c3c3" }), AUTH);
    expect(res.body.alerts[0].actions[0]).toMatchObject({
      result: "succeeded",
      detail: { model: "churn-model", alias: "champion", from: "3", to: "2", challenger: { alias: "challenger", from: "3", to: "2" } },
    });
    expect(mlflow.alias("churn-model", "champion")).toBe("2");
    expect(mlflow.alias("churn-model", "challenger")).toBe("2");
    expect(aliasDeletes()).toEqual([]);
  });
});

describe("retrain", () => {
  const drift = { alertname: "DataDriftCritical", model: "fraud-detector" };

  test("a firing DataDriftCritical posts one HMAC-signed retraining request", async () => {
    const res = await post(`${m.alertsUrl}/v1/alerts`, notification({ labels: drift, fingerprint: "d1d1" }), AUTH);
    expect(res.body.alerts[0].actions).toEqual([{ action: "retrain", result: "succeeded", recordId: expect.any(Number), detail: { url: `${hook.origin}/[redacted]`, attempts: 1, httpStatus: 200 } }]);
    expect(hook.received).toHaveLength(1);
    const { headers, body } = hook.received[0];
    expect(verifySignature(SECRET, String(headers[TIMESTAMP_HEADER]), body, String(headers[SIGNATURE_HEADER]))).toBe(true);
    expect(JSON.parse(body)).toMatchObject({
      type: "retrain_requested",
      model: "fraud-detector",
      requestedBy: { source: "alertmanager", receiver: "mlops-monitor" },
      reason: { alertname: "DataDriftCritical", fingerprint: "d1d1", labels: { ...drift, platform: "mlops" } },
    });
    const again = await post(`${m.alertsUrl}/v1/alerts`, notification({ labels: drift, fingerprint: "d1d1" }), AUTH);
    expect(again.body.alerts[0].actions[0].result).toBe("duplicate");
    expect(hook.received).toHaveLength(1);
  });

  test("a failed delivery is recorded, and the next notification of the alert retries it", async () => {
    hook.status = 503;
    const failed = await post(`${m.alertsUrl}/v1/alerts`, notification({ labels: drift, fingerprint: "d2d2" }), AUTH);
    expect(failed.body.alerts[0].actions[0]).toMatchObject({ action: "retrain", result: "failed", error: "the retraining webhook failed: HTTP 503" });
    expect(hook.received).toHaveLength(3); // the previous test's delivery + the first attempt + WEBHOOK_RETRIES=1
    hook.status = 200;
    const retried = await post(`${m.alertsUrl}/v1/alerts`, notification({ labels: drift, fingerprint: "d2d2" }), AUTH);
    expect(retried.body.alerts[0].actions[0]).toMatchObject({ result: "succeeded" });
    const [record] = await sql(db.url, "SELECT status, attempts, error FROM alert_actions WHERE fingerprint = 'd2d2'");
    expect(record).toEqual({ status: "succeeded", attempts: 2, error: null });
  });

  test("a webhook URL's credentials are never shown: not in answers, records, the actions API or logs", async () => {
    // fetch refuses a URL with credentials, quoting it in its error: the error is recorded without them.
    const stale = await post(`${m.alertsUrl}/v1/alerts`, notification({ labels: { alertname: "ModelStale", model: "fraud-detector" }, fingerprint: "e1e1" }), AUTH);
    expect(stale.body.alerts[0].actions[0]).toMatchObject({ action: "retrain", result: "failed", detail: { url: `${hook.origin}/[redacted]` } });
    expect(stale.body.alerts[0].actions[0].error).toContain(`${hook.origin}/[redacted]`);
    expect(redactUrl(hook.url)).toBe(`${hook.origin}/[redacted]`);

    const shown = [
      JSON.stringify(stale.body),
      JSON.stringify((await get(`${m.url}/v1/alerts/actions?limit=1000`)).body),
      JSON.stringify(await sql(db.url, "SELECT * FROM alert_actions")),
      logLines.join(""),
    ];
    expect(logLines.some((l) => l.includes('"alert action done"') && l.includes("retrain"))).toBe(true);
    for (const text of shown) {
      for (const secret of [HOOK_PATH_TOKEN, HOOK_QUERY_TOKEN, RULE_USERINFO_SECRET]) expect(text).not.toContain(secret);
    }
  });
});

describe("the receiver's own checks", () => {
  test("no or a wrong bearer token: 401, nothing done", async () => {
    const before = await count(db.url, "alert_actions");
    const none = await post(`${m.alertsUrl}/v1/alerts`, notification({ labels: qualityLow, fingerprint: "x1" }));
    expect(none.status).toBe(401);
    expect(none.body.code).toBe("UNAUTHENTICATED");
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    const wrong = await post(`${m.alertsUrl}/v1/alerts`, notification({ labels: qualityLow, fingerprint: "x1" }), { authorization: "Bearer nope" });
    expect(wrong.status).toBe(401);
    expect(await count(db.url, "alert_actions")).toBe(before);
  });

  test("a body that is not Alertmanager's webhook: 400 saying what is wrong", async () => {
    const res = await post(`${m.alertsUrl}/v1/alerts`, { ...notification({ labels: qualityLow }), version: "3" }, AUTH);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: `not an Alertmanager webhook (version 4) body: version: expected Alertmanager's webhook version "4"`, code: "INVALID_ALERT_PAYLOAD" });
    const noName = notification({ labels: qualityLow });
    delete (noName.alerts[0].labels as Record<string, string>).alertname;
    expect((await post(`${m.alertsUrl}/v1/alerts`, noName, AUTH)).body.error).toContain("alerts[0].labels: the labels have no alertname");
  });

  test("GET /v1/alerts/actions lists the records, newest first; the counter counts them", async () => {
    const res = await get(`${m.url}/v1/alerts/actions?model=fraud-detector&limit=10`);
    expect((await get(`${m.url}/v1/alerts/actions`)).body.actions).toHaveLength(11);
    expect(res.body.actions.map((a: any) => `${a.action}:${a.status}`)).toEqual([
      "retrain:failed", // a URL with credentials
      "retrain:succeeded",
      "retrain:succeeded",
      "rollback:skipped", // the shadow variant
      "rollback:skipped", // an earlier challenger
      "rollback:skipped", // the challenger is the champion's version already
      "rollback:succeeded", // the challenger demoted
      "rollback:skipped",
      "rollback:succeeded",
    ]);
    expect(res.body.actions.at(-1)).toMatchObject({ alertname: "ModelQualityLow", receiver: "mlops-monitor", detail: { from: "3", to: "2" }, startsAt: "2026-03-01T10:00:00.123Z" });
    expect((await get(`${m.url}/v1/alerts/actions?limit=0`)).status).toBe(400);
    const text = (await get(m.metricsUrl)).body as string;
    expect(sample(text, "mlops_monitor_alert_actions_total", { action: "rollback", result: "succeeded" })).toBe(4);
    expect(sample(text, "mlops_monitor_alert_actions_total", { action: "rollback", result: "duplicate" })).toBe(3);
    expect(sample(text, "mlops_monitor_alert_actions_total", { action: "retrain", result: "failed" })).toBe(2);
  });
});
