/**
 * The Alertmanager receiver against a local MLflow REST stand-in (test/helpers/mlflow-stub.ts) and a
 * local retraining webhook: the champion alias moves once, a failing challenger loses its alias once,
 * every action is recorded with who, what and why, repeats and resolved alerts act on nothing, failures
 * are recorded and retried.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from "@mlops/common";
import { MlflowStub } from "../../helpers/mlflow-stub";
import { useTestDatabase } from "../../helpers/postgres";
import { count, get, post, sample, sql, startTestMonitor, type TestMonitor } from "./support";

const db = useTestDatabase("monitor_alerts");
const TOKEN = "alertmanager-token-0123456789";
const SECRET = "retrain-webhook-secret-0123456789";
const AUTH = { authorization: `Bearer ${TOKEN}` };

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
  async start() {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/retrain`;
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
    ]),
    ALERT_RECEIVER_TOKEN: TOKEN,
    MLFLOW_TRACKING_URI: mlflow.url,
    MLFLOW_TRACKING_USERNAME: "monitor",
    MLFLOW_TRACKING_PASSWORD: "monitor-pw",
    RETRAIN_WEBHOOK_URL: hook.url,
    WEBHOOK_SECRET: SECRET,
    WEBHOOK_RETRIES: "1",
    WEBHOOK_BACKOFF_MS: "10",
  });
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

const aliasMoves = (model = "fraud-detector") =>
  mlflow.requests.filter((r) => r.method === "POST" && r.path === "/api/2.0/mlflow/registered-models/alias" && (r.body as { name?: string })?.name === model);
const qualityLow = { alertname: "ModelQualityLow", model: "fraud-detector", version: "3", variant: "champion" };

describe("rollback", () => {
  test("a firing ModelQualityLow moves champion to the previous version and records who, what and why", async () => {
    const res = await post(`${m.url}/v1/alerts`, notification({ labels: qualityLow }), AUTH);
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
      const res = await post(`${m.url}/v1/alerts`, notification({ labels: qualityLow }), AUTH);
      expect(res.body.alerts[0].actions).toEqual([{ action: "rollback", result: "duplicate", recordId: expect.any(Number) }]);
    }
    expect(mlflow.alias("fraud-detector", "champion")).toBe("2");
    expect(aliasMoves()).toHaveLength(1);
    expect(await count(db.url, "alert_actions")).toBe(1);
  });

  test("a new firing of the alert about version 3 moves nothing: champion is version 2 by now", async () => {
    const res = await post(`${m.url}/v1/alerts`, notification({ labels: qualityLow, startsAt: "2026-03-01T12:00:00Z" }), AUTH);
    expect(res.body.alerts[0].actions[0]).toMatchObject({ action: "rollback", result: "skipped", error: "fraud-detector@champion is version 2, not the alerting version 3: nothing to roll back" });
    expect(mlflow.alias("fraud-detector", "champion")).toBe("2");
    expect(aliasMoves()).toHaveLength(1);
    expect(await count(db.url, "alert_actions", "status = 'skipped'")).toBe(1);
  });

  test("resolved alerts and alerts without a configured action act on nothing", async () => {
    const before = await count(db.url, "alert_actions");
    const resolved = await post(`${m.url}/v1/alerts`, notification({ status: "resolved", labels: qualityLow, startsAt: "2026-03-02T10:00:00Z", fingerprint: "ffff" }), AUTH);
    expect(resolved.body.alerts[0]).toMatchObject({ status: "resolved", actions: [] });
    const other = await post(`${m.url}/v1/alerts`, notification({ labels: { alertname: "InferenceLatencyHigh", model: "fraud-detector" } }), AUTH);
    expect(other.body.alerts[0].actions).toEqual([]);
    const otherModel = await post(`${m.url}/v1/alerts`, notification({ labels: { ...qualityLow, model: "other-model" }, fingerprint: "eeee" }), AUTH);
    expect(otherModel.body.alerts[0].actions).toEqual([]);
    expect(await count(db.url, "alert_actions")).toBe(before);
    expect(aliasMoves()).toHaveLength(1);
  });

  test("MLflow failing: the action is recorded as failed, and the next notification of the alert retries it", async () => {
    mlflow.failNext("/api/2.0/mlflow/registered-models/alias", 503);
    const churn = { alertname: "ModelQualityLow", model: "churn-model", version: "2", variant: "champion" };
    const failed = await post(`${m.url}/v1/alerts`, notification({ labels: churn, fingerprint: "c0c0" }), AUTH);
    expect(failed.body.alerts[0].actions[0]).toMatchObject({ action: "rollback", result: "failed" });
    expect(failed.body.alerts[0].actions[0].error).toContain("failed with 503");
    expect(mlflow.alias("churn-model", "champion")).toBe("2");
    const retried = await post(`${m.url}/v1/alerts`, notification({ labels: churn, fingerprint: "c0c0" }), AUTH);
    expect(retried.body.alerts[0].actions[0]).toMatchObject({ result: "succeeded", detail: { from: "2", to: "1" } });
    expect(mlflow.alias("churn-model", "champion")).toBe("1");
    expect(await sql(db.url, "SELECT status, attempts, error FROM alert_actions WHERE fingerprint = 'c0c0'")).toEqual([{ status: "succeeded", attempts: 2, error: null }]);
    // Every call carried the monitor's MLflow credentials.
    expect(mlflow.requests.every((r) => r.authorization === `Basic ${Buffer.from("monitor:monitor-pw").toString("base64")}`)).toBe(true);
  });

  const aliasDeletes = () => mlflow.requests.filter((r) => r.method === "DELETE" && r.path === "/api/2.0/mlflow/registered-models/alias");

  test("the challenger's alert demotes the challenger: its alias is removed, champion stays, recorded like a rollback, once", async () => {
    const challenger = mlflow.registerVersion("fraud-detector", { aliases: ["challenger"] });
    expect(challenger).toBe("4");
    const labels = { ...qualityLow, version: "4", variant: "challenger" };
    const res = await post(`${m.url}/v1/alerts`, notification({ labels, fingerprint: "cccc" }), AUTH);
    expect(res.status).toBe(200);
    expect(res.body.alerts[0].actions).toEqual([
      { action: "rollback", result: "succeeded", recordId: expect.any(Number), detail: { model: "fraud-detector", alias: "challenger", from: "4", to: null } },
    ]);
    expect(mlflow.alias("fraud-detector", "challenger")).toBeUndefined();
    expect(mlflow.alias("fraud-detector", "champion")).toBe("2");
    expect(aliasMoves()).toHaveLength(1);
    expect(aliasDeletes().map((r) => r.body)).toEqual([{ name: "fraud-detector", alias: "challenger" }]);
    const [record] = await sql(db.url, "SELECT action, status, model, detail, error, labels FROM alert_actions WHERE fingerprint = 'cccc'");
    expect(record).toMatchObject({ action: "rollback", status: "succeeded", model: "fraud-detector", detail: { model: "fraud-detector", alias: "challenger", from: "4", to: null }, error: null });
    expect(record.labels).toMatchObject(labels);

    // Alertmanager repeating the notification: the claim holds, nothing is called.
    const again = await post(`${m.url}/v1/alerts`, notification({ labels, fingerprint: "cccc" }), AUTH);
    expect(again.body.alerts[0].actions).toEqual([{ action: "rollback", result: "duplicate", recordId: expect.any(Number) }]);
    // The alert firing anew: the alias is gone already, so nothing is deleted.
    const later = await post(`${m.url}/v1/alerts`, notification({ labels, fingerprint: "cccc", startsAt: "2026-03-01T12:00:00Z" }), AUTH);
    expect(later.body.alerts[0].actions[0]).toMatchObject({ action: "rollback", result: "skipped", error: "fraud-detector has no challenger alias (already demoted): nothing to demote" });
    expect(aliasDeletes()).toHaveLength(1);
    expect(mlflow.alias("fraud-detector", "champion")).toBe("2");
  });

  test("an alert about an earlier challenger, or about the shadow variant, changes no alias", async () => {
    const newer = mlflow.registerVersion("fraud-detector", { aliases: ["challenger"] });
    const stale = await post(`${m.url}/v1/alerts`, notification({ labels: { ...qualityLow, version: "4", variant: "challenger" }, fingerprint: "cdcd" }), AUTH);
    expect(stale.body.alerts[0].actions[0]).toMatchObject({ result: "skipped", error: `fraud-detector@challenger is version ${newer}, not the alerting version 4: nothing to demote` });
    const shadow = await post(`${m.url}/v1/alerts`, notification({ labels: { ...qualityLow, version: newer, variant: "shadow" }, fingerprint: "cece" }), AUTH);
    expect(shadow.body.alerts[0].actions[0]).toMatchObject({ result: "skipped", error: "the alert is about the shadow variant; rollback moves only the champion alias" });
    expect(mlflow.alias("fraud-detector", "challenger")).toBe(newer);
    expect(mlflow.alias("fraud-detector", "champion")).toBe("2");
    expect(aliasDeletes()).toHaveLength(1);
    expect(aliasMoves()).toHaveLength(1);
  });
});

describe("retrain", () => {
  const drift = { alertname: "DataDriftCritical", model: "fraud-detector" };

  test("a firing DataDriftCritical posts one HMAC-signed retraining request", async () => {
    const res = await post(`${m.url}/v1/alerts`, notification({ labels: drift, fingerprint: "d1d1" }), AUTH);
    expect(res.body.alerts[0].actions).toEqual([{ action: "retrain", result: "succeeded", recordId: expect.any(Number), detail: { url: hook.url, attempts: 1, httpStatus: 200 } }]);
    expect(hook.received).toHaveLength(1);
    const { headers, body } = hook.received[0];
    expect(verifySignature(SECRET, String(headers[TIMESTAMP_HEADER]), body, String(headers[SIGNATURE_HEADER]))).toBe(true);
    expect(JSON.parse(body)).toMatchObject({
      type: "retrain_requested",
      model: "fraud-detector",
      requestedBy: { source: "alertmanager", receiver: "mlops-monitor" },
      reason: { alertname: "DataDriftCritical", fingerprint: "d1d1", labels: { ...drift, platform: "mlops" } },
    });
    const again = await post(`${m.url}/v1/alerts`, notification({ labels: drift, fingerprint: "d1d1" }), AUTH);
    expect(again.body.alerts[0].actions[0].result).toBe("duplicate");
    expect(hook.received).toHaveLength(1);
  });

  test("a failed delivery is recorded, and the next notification of the alert retries it", async () => {
    hook.status = 503;
    const failed = await post(`${m.url}/v1/alerts`, notification({ labels: drift, fingerprint: "d2d2" }), AUTH);
    expect(failed.body.alerts[0].actions[0]).toMatchObject({ action: "retrain", result: "failed", error: "the retraining webhook failed: HTTP 503" });
    expect(hook.received).toHaveLength(3); // the previous test's delivery + the first attempt + WEBHOOK_RETRIES=1
    hook.status = 200;
    const retried = await post(`${m.url}/v1/alerts`, notification({ labels: drift, fingerprint: "d2d2" }), AUTH);
    expect(retried.body.alerts[0].actions[0]).toMatchObject({ result: "succeeded" });
    const [record] = await sql(db.url, "SELECT status, attempts, error FROM alert_actions WHERE fingerprint = 'd2d2'");
    expect(record).toEqual({ status: "succeeded", attempts: 2, error: null });
  });
});

describe("the receiver's own checks", () => {
  test("no or a wrong bearer token: 401, nothing done", async () => {
    const before = await count(db.url, "alert_actions");
    const none = await post(`${m.url}/v1/alerts`, notification({ labels: qualityLow, fingerprint: "x1" }));
    expect(none.status).toBe(401);
    expect(none.body.code).toBe("UNAUTHORIZED");
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    const wrong = await post(`${m.url}/v1/alerts`, notification({ labels: qualityLow, fingerprint: "x1" }), { authorization: "Bearer nope" });
    expect(wrong.status).toBe(401);
    expect(await count(db.url, "alert_actions")).toBe(before);
  });

  test("a body that is not Alertmanager's webhook: 400 saying what is wrong", async () => {
    const res = await post(`${m.url}/v1/alerts`, { ...notification({ labels: qualityLow }), version: "3" }, AUTH);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: `not an Alertmanager webhook (version 4) body: version: expected Alertmanager's webhook version "4"`, code: "INVALID_ALERT_PAYLOAD" });
    const noName = notification({ labels: qualityLow });
    delete (noName.alerts[0].labels as Record<string, string>).alertname;
    expect((await post(`${m.url}/v1/alerts`, noName, AUTH)).body.error).toContain("alerts[0].labels: the labels have no alertname");
  });

  test("GET /v1/alerts/actions lists the records, newest first; the counter counts them", async () => {
    const res = await get(`${m.url}/v1/alerts/actions?model=fraud-detector&limit=10`);
    expect((await get(`${m.url}/v1/alerts/actions`)).body.actions).toHaveLength(9);
    expect(res.body.actions.map((a: any) => `${a.action}:${a.status}`)).toEqual([
      "retrain:succeeded",
      "retrain:succeeded",
      "rollback:skipped", // the shadow variant
      "rollback:skipped", // an earlier challenger
      "rollback:skipped", // the challenger demoted already
      "rollback:succeeded", // the challenger demoted
      "rollback:skipped",
      "rollback:succeeded",
    ]);
    expect(res.body.actions.at(-1)).toMatchObject({ alertname: "ModelQualityLow", receiver: "mlops-monitor", detail: { from: "3", to: "2" }, startsAt: "2026-03-01T10:00:00.123Z" });
    expect((await get(`${m.url}/v1/alerts/actions?limit=0`)).status).toBe(400);
    const text = (await get(m.metricsUrl)).body as string;
    expect(sample(text, "mlops_monitor_alert_actions_total", { action: "rollback", result: "succeeded" })).toBe(3);
    expect(sample(text, "mlops_monitor_alert_actions_total", { action: "rollback", result: "duplicate" })).toBe(3);
    expect(sample(text, "mlops_monitor_alert_actions_total", { action: "retrain", result: "failed" })).toBe(1);
  });
});
