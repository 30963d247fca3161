/**
 * A real Alertmanager (Debian's prometheus-alertmanager) with the configuration alertmanagerConfig renders:
 * a firing alert posted to its API v2 reaches a local HTTP server standing in for Slack (through the
 * `api_url_file` credential file, as in the cluster), as a Slack message with the runbook link, and the
 * monitor's receiver with its bearer token; a critical drift alert holds back the warning of the same model.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { buildAlertRules, runbookUrl } from "../../../components/kubernetes/alert-rules";
import { alertmanagerConfig, credentialValues, type AlertRouting } from "../../../components/kubernetes/alertmanager-config";
import { alertmanagerArgs, alertmanagerBinary, INSTALL_HINT } from "../../../scripts/local/monitoring";
import { freePort } from "../../helpers/postgres";
import { writeConfig } from "./support/alertmanager";

const RUNBOOKS = "https://github.com/acme/mlops-platform/blob/main/docs/runbooks";
const MONITOR_TOKEN = "monitor-token-0123456789abcdef";

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: any;
}

let dir: string;
let stub: Server;
let stubPort: number;
let alertmanager: ChildProcess;
let amUrl: string;
let amLog = "";
const received: Received[] = [];

async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = check();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; received: ${JSON.stringify(received.map((r) => [r.path, r.body]))}\nAlertmanager's log:\n${amLog}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  const binary = alertmanagerBinary();
  if (!binary) throw new Error(`prometheus-alertmanager is not installed: ${INSTALL_HINT}`);
  dir = mkdtempSync(path.join(tmpdir(), "mlops-am-delivery-"));

  // Stands in for Slack's incoming webhook and for the monitor's receiver: records what arrives.
  stub = createServer((req, res) => {
    let data = "";
    req.on("data", (c) => (data += c));
    req.on("end", () => {
      received.push({ path: req.url ?? "", headers: req.headers, body: JSON.parse(data || "null") });
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    });
  });
  await new Promise<void>((resolve) => stub.listen(0, "127.0.0.1", resolve));
  stubPort = (stub.address() as { port: number }).port;

  // The routing a stack's `mlops:alerting` gives, its credential (the Slack URL) a file as in the mounted Secret.
  const routing: AlertRouting = {
    defaultReceiver: "ml-platform-slack",
    receivers: [{ name: "ml-platform-slack", slack: { channel: "#ml-platform-alerts", webhookUrl: `http://127.0.0.1:${stubPort}/slack/services/T0/B0/x` } }],
    routes: [{ receiver: "ml-platform-slack", severity: "critical", team: "ml-platform" }],
  };
  const credentialsDir = path.join(dir, "secrets", "alertmanager-receivers");
  mkdirSync(credentialsDir, { recursive: true });
  for (const { slot, value } of credentialValues(routing)) writeFileSync(path.join(credentialsDir, slot.key), `${value}\n`);
  const tokenFile = path.join(dir, "secrets", "token");
  writeFileSync(tokenFile, MONITOR_TOKEN);
  const config = alertmanagerConfig({
    webhookUrl: `http://127.0.0.1:${stubPort}/monitor/v1/alerts`,
    bearerTokenFile: tokenFile,
    routing,
    credentialsDir,
    groupWait: "1s",
    groupInterval: "1s",
    repeatInterval: "1h",
  });
  const configFile = writeConfig(dir, "alertmanager", config);

  const port = await freePort();
  amUrl = `http://127.0.0.1:${port}`;
  alertmanager = spawn(binary, alertmanagerArgs(configFile, path.join(dir, "data"), port), { stdio: ["ignore", "pipe", "pipe"] });
  alertmanager.stdout!.on("data", (d: Buffer) => (amLog += d.toString()));
  alertmanager.stderr!.on("data", (d: Buffer) => (amLog += d.toString()));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (alertmanager.exitCode !== null) throw new Error(`Alertmanager exited (${alertmanager.exitCode}):\n${amLog}`);
    const ready = await fetch(`${amUrl}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`Alertmanager not ready within 20 s:\n${amLog}`);
    await new Promise((r) => setTimeout(r, 200));
  }
});

afterAll(async () => {
  if (alertmanager && alertmanager.exitCode === null) {
    const exited = new Promise((r) => alertmanager.once("exit", r));
    alertmanager.kill("SIGTERM");
    await exited;
  }
  await new Promise((r) => stub?.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** An alert as Prometheus would send it for one of the platform's rules: its labels, the rule's runbook link. */
function firing(alert: "InferenceErrorRatioHigh" | "DataDriftCritical" | "DataDriftDetected", labels: Record<string, string>, summary: string) {
  const rule = buildAlertRules({ errorRatio: 0.02, latencyP95Seconds: 0.1, driftShareWarning: 0.3, driftShareCritical: 0.7, models: [], runbookBaseUrl: RUNBOOKS, team: "ml-platform" })
    .flatMap((g) => g.rules)
    .find((r) => r.alert === alert)!;
  return {
    labels: { alertname: alert, ...rule.labels, ...labels },
    annotations: { summary, description: `${summary} (test)`, runbook_url: rule.annotations.runbook_url },
    startsAt: new Date().toISOString(),
  };
}

test("a firing alert reaches the Slack stand-in as a Slack message with its runbook link, and the monitor with its token", async () => {
  const alerts = [
    firing("InferenceErrorRatioHigh", { model: "fraud-detector", variant: "champion" }, "Inference errors of fraud-detector (champion) above 2%"),
    firing("DataDriftCritical", { model: "churn" }, "Critical data drift on churn"),
    firing("DataDriftDetected", { model: "churn" }, "Data drift on churn"),
  ];
  const posted = await fetch(`${amUrl}/api/v2/alerts`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(alerts) });
  expect(posted.status).toBe(200);

  const slackFor = (alertname: string) => received.find((r) => r.path.startsWith("/slack/") && r.body?.attachments?.[0]?.title?.includes(alertname));
  const slack = await waitFor("the Slack message of InferenceErrorRatioHigh", () => slackFor("InferenceErrorRatioHigh"));
  expect(slack.path).toBe("/slack/services/T0/B0/x");
  expect(slack.headers["content-type"]).toContain("application/json");
  expect(slack.body.channel).toBe("#ml-platform-alerts");
  const attachment = slack.body.attachments[0];
  expect(attachment.title).toBe("[FIRING:1] InferenceErrorRatioHigh (fraud-detector)");
  expect(attachment.text).toContain("*Inference errors of fraud-detector (champion) above 2%* (critical)");
  expect(attachment.text).toContain(`Runbook: ${runbookUrl("InferenceErrorRatioHigh", RUNBOOKS)}`);
  expect(runbookUrl("InferenceErrorRatioHigh", RUNBOOKS)).toBe(`${RUNBOOKS}/InferenceErrorRatioHigh.md`);

  // The monitor's receiver got the same platform alert, with its bearer token (the route with continue).
  const monitor = await waitFor("the monitor's notification", () =>
    received.find((r) => r.path === "/monitor/v1/alerts" && r.body.alerts.some((a: any) => a.labels.alertname === "InferenceErrorRatioHigh")),
  );
  expect(monitor.headers.authorization).toBe(`Bearer ${MONITOR_TOKEN}`);
  expect(monitor.body).toMatchObject({ version: "4", receiver: "mlops-monitor", status: "firing" });
  expect(monitor.body.alerts[0].annotations.runbook_url).toBe(`${RUNBOOKS}/InferenceErrorRatioHigh.md`);

  // Inhibition: the critical drift alert arrives; the warning of the same model never does, to anyone.
  await waitFor("the Slack message of DataDriftCritical", () => slackFor("DataDriftCritical"));
  await new Promise((r) => setTimeout(r, 3000));
  const mentions = received.filter((r) => JSON.stringify(r.body).includes("DataDriftDetected"));
  expect(mentions).toEqual([]);
});
