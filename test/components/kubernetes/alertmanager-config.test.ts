/**
 * Alertmanager's routing (components/kubernetes/alertmanager-config.ts) rendered from hand-made routings,
 * checked by the real amtool (`check-config`, `config routes test`): every receiver kind, the monitor's
 * route first with `continue`, the people's routes, the fallback, the heartbeat, inhibition, no `null`
 * receiver, credentials only as files, and the problems a bad routing is refused with.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { INHIBITS } from "../../../components/kubernetes/alert-rules";
import {
  MONITOR_RECEIVER,
  RECEIVER_CREDENTIALS_DIR,
  alertmanagerConfig,
  credentialSlots,
  credentialValues,
  inhibitRules,
  routingProblems,
  type AlertRouting,
} from "../../../components/kubernetes/alertmanager-config";
import { requireTool } from "../../helpers/tools";
import { checkConfig, receiversFor, referencedFiles, writeConfig } from "./support/alertmanager";

const WEBHOOK = "http://monitor.mlops.svc.cluster.local:8081/v1/alerts";
const TOKEN_FILE = "/etc/alertmanager/secrets/alertmanager-monitor-token/token";

/** Two teams, every kind of receiver, a heartbeat: what a stack's `mlops:alerting` may say. */
const ROUTING: AlertRouting = {
  defaultReceiver: "platform-slack",
  receivers: [
    { name: "payments-pager", pagerduty: { routingKey: "pd-key-payments" } },
    { name: "platform-pager", pagerduty: { routingKey: "pd-key-platform" } },
    { name: "platform-slack", slack: { channel: "#ml-platform-alerts", webhookUrl: "https://hooks.slack.com/services/T0/B0/x" } },
    { name: "platform-mail", email: { to: "ml@example.com, oncall@example.com", from: "am@example.com", smarthost: "smtp.example.com:587", authUsername: "am@example.com", authPassword: "smtp-pass" } },
    { name: "incidents", webhook: { url: "https://incidents.example.com/hooks/am", bearerToken: "incident-token" } },
    { name: "deadman", webhook: { url: "https://deadman.example.com/ping/x" } },
  ],
  routes: [
    { receiver: "payments-pager", severity: "critical", team: "payments" },
    { receiver: "platform-pager", severity: "critical", team: "ml-platform" },
    { receiver: "incidents", severity: "critical", continue: true },
    { receiver: "platform-pager", severity: "critical", matchers: ['team=""'] },
    { receiver: "platform-slack", severity: "warning" },
    { receiver: "platform-mail", severity: "info", repeatInterval: "24h" },
  ],
  heartbeat: { receiver: "deadman" },
};

let dir: string;
let amtool: string;
beforeAll(() => {
  amtool = requireTool("amtool", "prometheus-alertmanager");
  dir = mkdtempSync(path.join(tmpdir(), "mlops-am-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const write = (config: Record<string, unknown>) => writeConfig(dir, `alertmanager-${n++}`, config);

describe("a routing with every kind of receiver, checked by amtool", () => {
  let config: any;
  let file: string;
  beforeAll(() => {
    config = alertmanagerConfig({ webhookUrl: WEBHOOK, bearerTokenFile: TOKEN_FILE, routing: ROUTING });
    file = write(config);
  });

  test("amtool check-config accepts it", () => {
    const r = checkConfig(amtool, file);
    expect(r.output).toContain("SUCCESS");
    expect(r.output).toContain("7 receivers");
    expect(r.status).toBe(0);
  });

  test.each([
    ["a critical serving alert of team payments pages payments (and the monitor, and the incident webhook)", { alertname: "InferenceErrorRatioHigh", severity: "critical", platform: "mlops", team: "payments", model: "fraud" }, [MONITOR_RECEIVER, "payments-pager"]],
    ["a critical serving alert of team ml-platform pages ml-platform and reaches the monitor", { alertname: "ModelServerDown", severity: "critical", platform: "mlops", team: "ml-platform", model: "churn" }, [MONITOR_RECEIVER, "platform-pager"]],
    ["a critical alert of another team: the incident webhook (continue), then the default", { alertname: "X", severity: "critical", team: "search" }, ["incidents", "platform-slack"]],
    ["a critical cluster alert (no team): the incident webhook, then the platform's pager", { alertname: "KubePersistentVolumeFillingUp", severity: "critical", namespace: "mlops" }, ["incidents", "platform-pager"]],
    ["a platform warning: the monitor and Slack", { alertname: "InferenceLatencyHigh", severity: "warning", platform: "mlops", team: "ml-platform", model: "churn" }, [MONITOR_RECEIVER, "platform-slack"]],
    ["a cluster warning: Slack only", { alertname: "KubePodCrashLooping", severity: "warning", namespace: "mlops" }, ["platform-slack"]],
    ["an info alert: the e-mail", { alertname: "CPUThrottlingHigh", severity: "info" }, ["platform-mail"]],
    ["an alert without severity: the default receiver", { alertname: "Something" }, ["platform-slack"]],
    ["Watchdog: the heartbeat only", { alertname: "Watchdog", severity: "none" }, ["deadman"]],
  ])("%s", (_what, labels, expected) => {
    expect(receiversFor(amtool, file, labels)).toEqual(expected);
  });

  test("the monitor's route comes first with continue, grouped per alert and model; the fallback is last", () => {
    const routes = config.route.routes;
    expect(routes[0]).toMatchObject({ receiver: "deadman", matchers: ['alertname="Watchdog"'], repeat_interval: "1m" });
    expect(routes[1]).toEqual({ receiver: MONITOR_RECEIVER, matchers: ['platform="mlops"'], group_by: ["alertname", "model"], continue: true });
    expect(routes.at(-1)).toEqual({ receiver: "platform-slack" });
    expect(config.route).toMatchObject({ receiver: "platform-slack", group_by: ["alertname", "namespace", "model"], group_wait: "30s", group_interval: "5m", repeat_interval: "4h" });
  });

  test("no receiver drops alerts: no `null`, every receiver has an integration", () => {
    for (const r of config.receivers) {
      expect(r.name).not.toBe("null");
      expect(Object.keys(r).filter((k) => k.endsWith("_configs")).length).toBeGreaterThan(0);
    }
  });

  test("credentials are files in the mounted Secret, never values in the configuration", () => {
    const text = JSON.stringify(config);
    for (const { value } of credentialValues(ROUTING)) expect(text).not.toContain(String(value));
    const byName = Object.fromEntries(config.receivers.map((r: any) => [r.name, r]));
    const under = (key: string) => `${RECEIVER_CREDENTIALS_DIR}/${key}`;
    expect(byName["platform-slack"].slack_configs[0].api_url_file).toBe(under("platform-slack-slack-webhook-url"));
    expect(byName["platform-pager"].pagerduty_configs[0].routing_key_file).toBe(under("platform-pager-pagerduty-routing-key"));
    expect(byName["platform-mail"].email_configs[0]).toMatchObject({ auth_username: "am@example.com", auth_password_file: under("platform-mail-email-auth-password"), require_tls: true });
    expect(byName.incidents.webhook_configs[0].http_config).toEqual({ authorization: { type: "Bearer", credentials_file: under("incidents-webhook-bearer-token") } });
    // A webhook without a token has no authorization; the monitor keeps its own token file.
    expect(byName.deadman.webhook_configs[0].http_config).toBeUndefined();
    expect(byName[MONITOR_RECEIVER].webhook_configs[0]).toMatchObject({ url: WEBHOOK, http_config: { authorization: { type: "Bearer", credentials_file: TOKEN_FILE } } });
    expect(referencedFiles(config).sort()).toEqual([TOKEN_FILE, ...credentialSlots(ROUTING).map((s) => under(s.key))].sort());
    expect(credentialSlots(ROUTING).map((s) => s.key)).toEqual([
      "payments-pager-pagerduty-routing-key",
      "platform-pager-pagerduty-routing-key",
      "platform-slack-slack-webhook-url",
      "platform-mail-email-auth-password",
      "incidents-webhook-bearer-token",
    ]);
  });

  test("the messages carry the runbook link", () => {
    const byName = Object.fromEntries(config.receivers.map((r: any) => [r.name, r]));
    expect(byName["platform-slack"].slack_configs[0].text).toContain("{{ with .Annotations.runbook_url }}Runbook: {{ . }}{{ end }}");
    expect(byName["platform-pager"].pagerduty_configs[0].details.runbook_url).toBe("{{ .CommonAnnotations.runbook_url }}");
  });
});

describe("without people's routing (dev, the local platform)", () => {
  test("every alert reaches the monitor, and no null receiver exists", () => {
    const config: any = alertmanagerConfig({ webhookUrl: WEBHOOK });
    const file = write(config);
    expect(checkConfig(amtool, file).status).toBe(0);
    expect(config.receivers.map((r: any) => r.name)).toEqual([MONITOR_RECEIVER]);
    expect(receiversFor(amtool, file, { alertname: "ModelQualityLow", severity: "critical", platform: "mlops" })).toEqual([MONITOR_RECEIVER]);
    expect(receiversFor(amtool, file, { alertname: "KubePodCrashLooping", severity: "warning" })).toEqual([MONITOR_RECEIVER]);
  });

  test("a routing without a default receiver leaves the rest to the monitor", () => {
    const config: any = alertmanagerConfig({ webhookUrl: WEBHOOK, routing: { receivers: [ROUTING.receivers[2]], routes: [{ receiver: "platform-slack", severity: "warning" }] } });
    const file = write(config);
    expect(checkConfig(amtool, file).status).toBe(0);
    expect(receiversFor(amtool, file, { alertname: "InferenceLatencyHigh", severity: "warning", platform: "mlops" })).toEqual([MONITOR_RECEIVER, "platform-slack"]);
    expect(receiversFor(amtool, file, { alertname: "KubeNodeNotReady", severity: "critical" })).toEqual([MONITOR_RECEIVER]);
  });

  test("local waits override the grouping", () => {
    const config: any = alertmanagerConfig({ webhookUrl: WEBHOOK, routing: { ...ROUTING, grouping: { groupWait: "1m", groupBy: ["alertname"] } }, groupWait: "5s" });
    expect(config.route).toMatchObject({ group_wait: "5s", group_by: ["alertname"], repeat_interval: "4h" });
  });
});

test("inhibition: critical silences warning and info of the same alert, namespace and model; the platform's pairs per model", () => {
  expect(inhibitRules()).toEqual([
    { source_matchers: ['severity="critical"'], target_matchers: ['severity=~"warning|info"'], equal: ["alertname", "namespace", "model"] },
    { source_matchers: ['severity="warning"'], target_matchers: ['severity="info"'], equal: ["alertname", "namespace", "model"] },
    { source_matchers: ['alertname="DataDriftCritical"'], target_matchers: ['alertname="DataDriftDetected"'], equal: ["model"] },
    { source_matchers: ['alertname="ModelServerDown"'], target_matchers: ['alertname=~"InferenceErrorRatioHigh|InferenceLatencyHigh"'], equal: ["model"] },
  ]);
  expect(Object.keys(INHIBITS)).toEqual(["DataDriftCritical", "ModelServerDown"]);
});

test("a bad routing is refused with every problem named by its path", () => {
  const bad: AlertRouting = {
    defaultReceiver: "nobody",
    receivers: [
      { name: "null", slack: { channel: "#a", webhookUrl: "x" } },
      { name: MONITOR_RECEIVER, pagerduty: { routingKey: "k" } },
      { name: "Bad_Name" },
      { name: "mail", email: { to: "not-an-address", from: "a@example.com", smarthost: "smtp.example.com", authPassword: "p" } },
      { name: "hook", webhook: { url: "ftp://x" } },
      { name: "hook", slack: { channel: "no spaces allowed", webhookUrl: "x" } },
    ],
    routes: [{ receiver: "hook" }, { receiver: "ghost", severity: "critical", team: 'a"b', matchers: ["team = unquoted"], repeatInterval: "soon" }],
    grouping: { groupWait: "later", groupBy: ["not-a-label"] },
    heartbeat: { receiver: "ghost" },
  };
  expect(routingProblems(bad).map((p) => `${p.path.join(".")}: ${p.message}`)).toEqual([
    'receivers.0.name: "null" is reserved (no receiver may drop alerts)',
    'receivers.1.name: "mlops-monitor" is reserved (the monitor\'s receiver)',
    'receivers.2.name: "Bad_Name" is not a receiver name (a lower-case DNS label of at most 40 characters)',
    "receivers.2: a receiver needs at least one of slack, pagerduty, email, webhook (a receiver without one drops alerts)",
    'receivers.3.email.to: "not-an-address" is not an e-mail address (or a comma-separated list)',
    'receivers.3.email.smarthost: "smtp.example.com" is not host:port, e.g. smtp.example.com:587',
    "receivers.3.email.authUsername: authPassword needs authUsername (SMTP AUTH)",
    'receivers.4.webhook.url: "ftp://x" is not an http(s) URL',
    'receivers.5.name: "hook" is listed twice',
    'receivers.5.slack.channel: "no spaces allowed" is not a Slack channel such as #ml-alerts',
    'defaultReceiver: "nobody" is not a configured receiver (receivers: null, mlops-monitor, Bad_Name, mail, hook)',
    'heartbeat.receiver: "ghost" is not a configured receiver (receivers: null, mlops-monitor, Bad_Name, mail, hook)',
    "routes.0: a route without severity, team or matchers takes every alert: make its receiver the defaultReceiver instead",
    'routes.1.receiver: "ghost" is not a configured receiver (receivers: null, mlops-monitor, Bad_Name, mail, hook)',
    'routes.1.team: "a"b" is not a team label value (letters, digits, spaces, . _ -)',
    'routes.1.matchers.0: "team = unquoted" is not an Alertmanager matcher such as namespace="payments" or alertname=~"Kube.*"',
    'routes.1.repeatInterval: "soon" is not a duration',
    'grouping.groupWait: "later" is not a duration such as 30s, 5m or 4h',
    'grouping.groupBy.0: "not-a-label" is not a label name',
  ]);
  expect(() => alertmanagerConfig({ webhookUrl: WEBHOOK, routing: bad })).toThrow("invalid alert routing:\n  receivers.0.name");
});
