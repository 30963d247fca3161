/**
 * Alertmanager as each of the seven stacks deploys it (the kube-prometheus-stack release's
 * `alertmanager.config`, under Pulumi's mocks with the stack's real config): `amtool check-config`,
 * routing with `amtool config routes test`, the credentials' files present in the Secrets Alertmanager
 * mounts, no `null` receiver; and `mlops:alerting`'s validation (prod pages people, credentials only as
 * Pulumi secrets, never in an error message).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ALERT_NAMES, RUNBOOK_DIR } from "../../../components/kubernetes/alert-rules";
import { ALERTMANAGER_SECRETS_DIR, MONITOR_RECEIVER, RECEIVER_CREDENTIALS_SECRET } from "../../../components/kubernetes/alertmanager-config";
import { ConfigError } from "../../../infra/config";
import { PREVIEW_CREDENTIAL } from "../../../infra/workloads";
import { runProgram, type PlanResult } from "../../../scripts/plan/harness";
import { readStackConfig } from "../../../scripts/plan/stack-config";
import { plan } from "../../helpers/plan";
import { requireTool } from "../../helpers/tools";
import { checkConfig, receiversFor, referencedFiles, writeConfig } from "./support/alertmanager";
import { toObjects, type K8sObject } from "./support/plan";

const STACKS = ["dev", "prod", "gcp-dev", "gcp-prod", "azure-dev", "azure-prod", "local"];
const PROD = new Set(["prod", "gcp-prod", "azure-prod"]);
const RUNBOOKS = "https://github.com/acme/mlops-platform/blob/main/docs/runbooks";

let dir: string;
let amtool: string;
const plans: Record<string, PlanResult> = {};
beforeAll(async () => {
  amtool = requireTool("amtool", "prometheus-alertmanager");
  dir = mkdtempSync(path.join(tmpdir(), "mlops-am-stacks-"));
  for (const stack of STACKS) plans[stack] = await plan({ stack });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const chartValues = (r: PlanResult) => r.resources.find((x) => x.type === "kubernetes:helm.sh/v3:Release" && x.inputs.chart === "kube-prometheus-stack")!.inputs.values;
const monitoringSecrets = (r: PlanResult) => toObjects(r.resources).filter((o) => o.kind === "Secret" && o.metadata.namespace === "monitoring");

describe.each(STACKS)("stack %s: Alertmanager as deployed", (stack) => {
  let values: any;
  let config: any;
  let file: string;
  beforeAll(() => {
    values = chartValues(plans[stack]);
    config = values.alertmanager.config;
    file = writeConfig(dir, stack, config);
  });

  test("the NetworkPolicies let Alertmanager reach every receiver's port outside the cluster (SMTP relays, webhooks)", () => {
    const needed = new Set<number>([443]);
    for (const r of config.receivers as any[]) {
      for (const e of r.email_configs ?? []) needed.add(Number(String(e.smarthost).split(":").pop()));
    }
    const policies = toObjects(plans[stack].resources).filter((o) => o.kind === "NetworkPolicy" && o.metadata.namespace === "monitoring");
    const selects = (p: K8sObject) => {
      const labels = p.spec.podSelector.matchLabels ?? {};
      return Object.keys(labels).length === 0 || labels["app.kubernetes.io/name"] === "alertmanager";
    };
    const open = new Set<number>(policies.filter(selects).flatMap((p) => (p.spec.egress ?? []).filter((e: any) => !e.to).flatMap((e: any) => (e.ports ?? []).map((x: any) => x.port))));
    for (const port of needed) expect([stack, port, open.has(port)]).toEqual([stack, port, true]);
  });

  test("amtool check-config accepts the rendered configuration", () => {
    const r = checkConfig(amtool, file);
    expect(r.output).toContain("SUCCESS");
    expect(r.status).toBe(0);
  });

  test("no null receiver: every receiver has an integration, the root goes to a person in prod and to the monitor otherwise", () => {
    for (const receiver of config.receivers) {
      expect(receiver.name).not.toBe("null");
      expect(Object.keys(receiver).some((k) => k.endsWith("_configs"))).toBe(true);
    }
    expect(config.route.receiver).toBe(PROD.has(stack) ? "ml-platform-slack" : MONITOR_RECEIVER);
    // The chart's rules that exist only for its null routing are off.
    expect(values.defaultRules.disabled.InfoInhibitor).toBe(true);
  });

  test("every credential file it names is a key of a Secret Alertmanager mounts, and that Secret's values are Pulumi secrets", () => {
    const mounted: string[] = values.alertmanager.alertmanagerSpec.secrets;
    const secrets = monitoringSecrets(plans[stack]);
    const files = referencedFiles(config);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const m = new RegExp(`^${ALERTMANAGER_SECRETS_DIR}/([^/]+)/([^/]+)$`).exec(f);
      expect([f, Boolean(m)]).toEqual([f, true]);
      const [, name, key] = m!;
      expect(mounted).toContain(name);
      const secret: K8sObject | undefined = secrets.find((s) => s.metadata.name === name);
      expect([f, Object.keys(secret?.stringData ?? {})]).toEqual([f, expect.arrayContaining([key])]);
      expect(secret!.secretPaths.some((p) => p === "stringData" || p === `stringData.${key}`)).toBe(true);
    }
    // Nothing mounted that the configuration does not use.
    expect(new Set(mounted)).toEqual(new Set(files.map((f) => f.split("/")[4])));
  });

  test("the platform's alerts carry the team label and a runbook link for every alert", () => {
    const rule = toObjects(plans[stack].resources).find((o) => o.kind === "PrometheusRule" && o.metadata.name === "mlops-alerts")!;
    const rules = rule.spec.groups.flatMap((g: any) => g.rules);
    const base = PROD.has(stack) ? RUNBOOKS : RUNBOOK_DIR;
    for (const r of rules) {
      expect(r.labels.team).toBe("ml-platform");
      expect(r.annotations.runbook_url).toBe(`${base}/${r.alert}.md`);
    }
    expect(new Set(rules.map((r: any) => r.alert))).toEqual(new Set(ALERT_NAMES));
  });

  if (PROD.has(stack)) {
    test.each([
      ["a critical serving alert of team ml-platform pages PagerDuty and reaches the monitor", { alertname: "InferenceErrorRatioHigh", severity: "critical", platform: "mlops", team: "ml-platform", model: "fraud-detector", variant: "champion" }, [MONITOR_RECEIVER, "ml-platform-pager"]],
      ["a critical quality alert: the monitor (which may roll back) and PagerDuty", { alertname: "ModelQualityLow", severity: "critical", platform: "mlops", team: "ml-platform", model: "churn-predictor" }, [MONITOR_RECEIVER, "ml-platform-pager"]],
      ["a critical platform API alert (no model label): the monitor (which records nothing for it) and PagerDuty", { alertname: "PlatformApiErrorRatioHigh", severity: "critical", platform: "mlops", team: "ml-platform", operation: "createPrediction" }, [MONITOR_RECEIVER, "ml-platform-pager"]],
      ["a platform warning: the monitor (which acts only on what ALERT_ACTIONS names) and Slack", { alertname: "InferenceLatencyHigh", severity: "warning", platform: "mlops", team: "ml-platform", model: "fraud-detector" }, [MONITOR_RECEIVER, "ml-platform-slack"]],
      ["a warning of the cluster: Slack only", { alertname: "KubePodCrashLooping", severity: "warning", namespace: "mlops" }, ["ml-platform-slack"]],
      ["a critical alert of the cluster (no team): PagerDuty", { alertname: "KubePersistentVolumeFillingUp", severity: "critical", namespace: "monitoring" }, ["ml-platform-pager"]],
      ["a critical alert of another team: the default receiver", { alertname: "Anything", severity: "critical", team: "search" }, ["ml-platform-slack"]],
    ])("%s", (_what, labels, expected) => {
      expect(receiversFor(amtool, file, labels)).toEqual(expected);
    });

    test("info alerts: e-mail on gcp-prod, the default receiver elsewhere; Watchdog: the heartbeat on azure-prod, off elsewhere", () => {
      expect(receiversFor(amtool, file, { alertname: "CPUThrottlingHigh", severity: "info" })).toEqual([stack === "gcp-prod" ? "ml-platform-mail" : "ml-platform-slack"]);
      if (stack === "azure-prod") {
        expect(receiversFor(amtool, file, { alertname: "Watchdog", severity: "none" })).toEqual(["ml-platform-heartbeat"]);
        expect(values.defaultRules.disabled.Watchdog).toBeUndefined();
      } else {
        expect(values.defaultRules.disabled.Watchdog).toBe(true);
      }
    });

    test("a preview without the credentials shows placeholders in the receivers' Secret", () => {
      const secret = monitoringSecrets(plans[stack]).find((s) => s.metadata.name === RECEIVER_CREDENTIALS_SECRET)!;
      expect(new Set(Object.values(secret.stringData))).toEqual(new Set([PREVIEW_CREDENTIAL]));
    });
  } else {
    test("without an alerting block every alert reaches the monitor", () => {
      expect(receiversFor(amtool, file, { alertname: "InferenceErrorRatioHigh", severity: "critical", platform: "mlops", team: "ml-platform" })).toEqual([MONITOR_RECEIVER]);
      expect(receiversFor(amtool, file, { alertname: "KubePodCrashLooping", severity: "warning" })).toEqual([MONITOR_RECEIVER]);
      expect(monitoringSecrets(plans[stack]).map((s) => s.metadata.name)).not.toContain(RECEIVER_CREDENTIALS_SECRET);
    });
  }
});

describe("mlops:alerting", () => {
  const prodAlerting = () => JSON.parse(readStackConfig("prod").config["mlops:alerting"]);
  /** The digests a real deployment needs (the prod file's are CI placeholders). */
  const pinnedImages = JSON.stringify({
    registry: "123456789012.dkr.ecr.us-west-2.amazonaws.com/mlops",
    tag: "0.1.0",
    ...Object.fromEntries(["serving", "drift", "monitor", "api", "mlflow"].map((i) => [i, { digest: `sha256:${"a".repeat(64)}` }])),
  });
  async function problems(options: Parameters<typeof runProgram>[0]): Promise<string[]> {
    try {
      await runProgram(options);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    throw new Error("expected a config error");
  }

  test("prod refuses a stack without alerting, or without a default receiver", async () => {
    expect(await problems({ stack: "prod", remove: ["mlops:alerting"] })).toEqual([
      'mlops:alerting: missing (required); in prod every alert must reach a person: configure a receiver (slack, pagerduty, email or webhook) and name it defaultReceiver (components/kubernetes/README.md, "Alerting")',
    ]);
    const { defaultReceiver: _, ...withoutDefault } = prodAlerting();
    expect(await problems({ stack: "prod", overrides: { "mlops:alerting": JSON.stringify(withoutDefault) } })).toEqual([expect.stringMatching(/^mlops:alerting\.defaultReceiver: missing \(required\); in prod/)]);
  });

  test("dev may route some alerts to people without a default receiver", async () => {
    const alerting = { receivers: [{ name: "team-slack", slack: { channel: "#x" } }], routes: [{ receiver: "team-slack", severity: "critical" }] };
    const r = await runProgram({ stack: "dev", overrides: { "mlops:alerting": JSON.stringify(alerting) } });
    const config = chartValues(r).alertmanager.config;
    const file = writeConfig(dir, "dev-some-routes", config);
    expect(checkConfig(amtool, file).status).toBe(0);
    expect(config.route.receiver).toBe(MONITOR_RECEIVER);
    expect(receiversFor(amtool, file, { alertname: "ModelQualityLow", severity: "critical", platform: "mlops", team: "ml-platform" })).toEqual([MONITOR_RECEIVER, "team-slack"]);
  });

  test("a routing Alertmanager would refuse is a config error naming the key", async () => {
    const alerting = { ...prodAlerting(), routes: [{ receiver: "nobody", severity: "critical" }] };
    expect(await problems({ stack: "prod", overrides: { "mlops:alerting": JSON.stringify(alerting) } })).toEqual([
      'mlops:alerting.routes.0.receiver: got "nobody"; "nobody" is not a configured receiver (receivers: ml-platform-pager, ml-platform-slack)',
    ]);
  });

  test("the team label: alerting.team, else the team tag, which must then be a label value routing can use", async () => {
    expect(await problems({ stack: "dev", overrides: { "mlops:tags": JSON.stringify({ team: "ml/platform", "cost-center": "cc-1" }) } })).toEqual([
      'mlops:alerting.team: missing (required); the platform\'s alerts carry the team tag ("ml/platform") as their team label, which it cannot be: set alerting.team',
    ]);
    const r = await runProgram({ stack: "dev", overrides: { "mlops:tags": JSON.stringify({ team: "ml/platform", "cost-center": "cc-1" }), "mlops:alerting": JSON.stringify({ team: "ml-platform" }) } });
    const rule = toObjects(r.resources).find((o) => o.kind === "PrometheusRule")!;
    expect(new Set(rule.spec.groups.flatMap((g: any) => g.rules.map((x: any) => x.labels.team)))).toEqual(new Set(["ml-platform"]));
  });

  test("a credential in plain text is refused, with the command that stores it as a secret, and never shown", async () => {
    const alerting = prodAlerting();
    alerting.receivers[1].slack.webhookUrl = "https://hooks.slack.com/services/T000/B000/plaintext-leak";
    const found = await problems({ stack: "prod", overrides: { "mlops:alerting": JSON.stringify(alerting) } });
    expect(found).toEqual([
      "mlops:alerting.receivers[1].slack.webhookUrl: a credential in plain text; remove it from the stack file and set it as a Pulumi secret: pulumi config set --secret --path 'mlops:alerting.receivers[1].slack.webhookUrl' <value>",
    ]);
    // An invalid one is named without its value either.
    alerting.receivers[0].pagerduty.routingKey = 12345;
    const invalid = await problems({ stack: "prod", secretOverrides: { "mlops:alerting": JSON.stringify(alerting) } });
    expect(invalid).toEqual(["mlops:alerting.receivers.0.pagerduty.routingKey: got \"[secret]\"; Invalid input: expected string, received number"]);
    expect(JSON.stringify([found, invalid])).not.toMatch(/plaintext-leak|12345/);
  });

  test("credentials set as Pulumi secrets land in the receivers' Secret, as secrets, and nowhere else", async () => {
    const alerting = prodAlerting();
    alerting.receivers[0].pagerduty.routingKey = "pd-routing-key-0123456789";
    alerting.receivers[1].slack.webhookUrl = "https://hooks.slack.com/services/T000/B000/secret-path";
    const r = await runProgram({ stack: "prod", secretOverrides: { "mlops:alerting": JSON.stringify(alerting) }, overrides: { "mlops:images": pinnedImages }, preview: false });
    const secret = monitoringSecrets(r).find((s) => s.metadata.name === RECEIVER_CREDENTIALS_SECRET)!;
    expect(secret.stringData).toEqual({
      "ml-platform-pager-pagerduty-routing-key": "pd-routing-key-0123456789",
      "ml-platform-slack-slack-webhook-url": "https://hooks.slack.com/services/T000/B000/secret-path",
    });
    expect(secret.secretPaths.some((p) => p.startsWith("stringData"))).toBe(true);
    const elsewhere = r.resources.filter((x) => !(x.type === "kubernetes:core/v1:Secret" && x.inputs.metadata?.name === RECEIVER_CREDENTIALS_SECRET));
    expect(JSON.stringify(elsewhere.map((x) => x.inputs))).not.toMatch(/pd-routing-key-0123456789|secret-path/);
    expect(JSON.stringify(r.outputs)).not.toMatch(/pd-routing-key-0123456789|secret-path/);
  });

  test("a real deployment refuses missing credentials, naming each with its command", async () => {
    expect(await problems({ stack: "gcp-prod", overrides: { "mlops:images": JSON.stringify({ tag: "0.1.0", ...JSON.parse(pinnedImages), registry: undefined }) }, preview: false })).toEqual([
      "mlops:alerting.receivers[0].pagerduty.routingKey: missing; a real deployment needs the pagerduty receiver \"ml-platform-pager\"'s credential: pulumi config set --secret --path 'mlops:alerting.receivers[0].pagerduty.routingKey' <value>",
      "mlops:alerting.receivers[1].slack.webhookUrl: missing; a real deployment needs the slack receiver \"ml-platform-slack\"'s credential: pulumi config set --secret --path 'mlops:alerting.receivers[1].slack.webhookUrl' <value>",
      "mlops:alerting.receivers[2].email.authPassword: missing; a real deployment needs the email receiver \"ml-platform-mail\"'s credential: pulumi config set --secret --path 'mlops:alerting.receivers[2].email.authPassword' <value>",
    ]);
  });

  test("the offline stack reader hands a key with nested secure values over as a secret, as the engine does", () => {
    const root = mkdtempSync(path.join(dir, "root-"));
    mkdirSync(root, { recursive: true });
    writeFileSync(path.join(root, "Pulumi.yaml"), "name: p\nruntime: nodejs\n");
    writeFileSync(
      path.join(root, "Pulumi.s.yaml"),
      "config:\n  mlops:alerting:\n    receivers:\n      - name: a\n        slack:\n          channel: '#a'\n          webhookUrl:\n            secure: v1:abc\n  mlops:environment: dev\n",
    );
    const c = readStackConfig("s", root);
    expect(c.secretKeys).toEqual(["mlops:alerting"]);
    expect(JSON.parse(c.config["mlops:alerting"])).toEqual({ receivers: [{ name: "a", slack: { channel: "#a", webhookUrl: "offline-placeholder-secret" } }] });
    expect(c.config["mlops:environment"]).toBe("dev");
  });
});
