import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { ALERT_NAMES, API_PREDICTION_OPERATIONS, DEFAULT_FOR, SEVERITY, buildAlertRules, renderRuleFile, type AlertRuleParams } from "../../../components/kubernetes/alert-rules";
import { planStack } from "./support/plan";
import { requireTool, run } from "../../helpers/tools";

const ROOT = path.resolve(__dirname, "../../..");
const FIXTURE = path.join(__dirname, "fixtures", "alert-rules.test.yml");
/** The parameters the hand-written promtool test (fixtures/alert-rules.test.yml) is written for. */
const FIXTURE_PARAMS: AlertRuleParams = {
  errorRatio: 0.02,
  latencyP95Seconds: 0.1,
  driftShareWarning: 0.3,
  driftShareCritical: 0.7,
  models: [
    { name: "fraud-detector", accuracyThreshold: 0.9 },
    { name: "churn", accuracyThreshold: 0.8 },
  ],
};

let dir: string;
let promtool: string;
beforeAll(() => {
  promtool = requireTool("promtool", "prometheus");
  dir = mkdtempSync(path.join(tmpdir(), "mlops-rules-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function promtoolTest(params: AlertRuleParams) {
  const work = mkdtempSync(path.join(dir, "t-"));
  writeFileSync(path.join(work, "rules.yml"), renderRuleFile(buildAlertRules(params)));
  copyFileSync(FIXTURE, path.join(work, "alert-rules.test.yml"));
  return run(promtool, ["test", "rules", "alert-rules.test.yml"], { cwd: work });
}

function checkRules(text: string) {
  const file = path.join(mkdtempSync(path.join(dir, "c-")), "rules.yml");
  writeFileSync(file, text);
  return run(promtool, ["check", "rules", file]);
}

describe("alert rules, checked by the real promtool", () => {
  test("promtool check rules accepts them", () => {
    const r = checkRules(renderRuleFile(buildAlertRules(FIXTURE_PARAMS)));
    expect(r.output).toContain("SUCCESS: 14 rules found");
    expect(r.status).toBe(0);
  });

  test("promtool test rules: each alert fires on a synthetic series above its threshold and stays silent below", () => {
    const r = promtoolTest(FIXTURE_PARAMS);
    expect(r.output).toContain("SUCCESS");
    expect(r.status).toBe(0);
    // The test file covers every alert of PRODUCT.md.
    const tested = new Set((parse(readFileSync(FIXTURE, "utf8")).tests as any[]).flatMap((t) => t.alert_rule_test.map((a: any) => a.alertname)));
    expect([...tested].sort()).toEqual([...ALERT_NAMES].sort());
  });

  test.each([
    ["errorRatio", { errorRatio: 0.05 }, "InferenceErrorRatioHigh"],
    ["latencyP95Seconds", { latencyP95Seconds: 0.25 }, "InferenceLatencyHigh"],
    ["apiLatencyP95Seconds", { apiLatencyP95Seconds: 1 }, "PlatformApiLatencyHigh"],
    ["error ratio of the platform API", { errorRatio: 0.05 }, "PlatformApiErrorRatioHigh"],
    ["driftShareWarning", { driftShareWarning: 0.6 }, "DataDriftDetected"],
    ["driftShareCritical", { driftShareCritical: 0.9 }, "DataDriftCritical"],
    ["accuracy threshold", { models: [{ name: "fraud-detector", accuracyThreshold: 0.8 }, { name: "churn", accuracyThreshold: 0.8 }] }, "ModelQualityLow"],
    ["for: (alerts not yet firing)", { for: { ModelServerDown: "5m" } }, "ModelServerDown"],
    ["for: of the platform API's target (not yet firing)", { for: { PlatformApiDown: "5m" } }, "PlatformApiDown"],
    ["minimum of labelled predictions", { qualityMinLabels: 1000 }, "ModelQualityLow"],
  ])("the promtool test catches a changed %s", (_what, change, alert) => {
    const r = promtoolTest({ ...FIXTURE_PARAMS, ...(change as Partial<AlertRuleParams>) });
    expect(r.status).not.toBe(0);
    expect(r.output).toContain(`alertname: ${alert}`);
  });

  test.each(["dev", "prod"])("the %s stack's PrometheusRule passes promtool check rules", async (stack) => {
    const { objects } = await planStack(stack);
    const rule = objects.find((o) => o.kind === "PrometheusRule")!;
    const models = stack === "prod" ? 2 : 1;
    const r = checkRules(renderRuleFile(rule.spec.groups));
    expect(r.output).toContain(`SUCCESS: ${12 + models} rules found`);
  });

  test("the durations default to PRODUCT.md's table", () => {
    const rules = buildAlertRules(FIXTURE_PARAMS).flatMap((g) => g.rules);
    for (const r of rules) expect(r.for).toBe(DEFAULT_FOR[r.alert]);
    expect(DEFAULT_FOR).toEqual({
      ModelServerDown: "1m",
      InferenceErrorRatioHigh: "2m",
      InferenceLatencyHigh: "2m",
      DataDriftDetected: "15m",
      DataDriftCritical: "15m",
      ModelQualityLow: "30m",
      PredictionEventsDropped: "10m",
      DriftDetectorDown: "5m",
      // Not in PRODUCT.md's table: a configured model with nothing to serve (a new stack's empty registry).
      ModelVersionMissing: "10m",
      // Not in PRODUCT.md's table either: the platform API in front of every model.
      PlatformApiDown: "2m",
      PlatformApiErrorRatioHigh: "5m",
      PlatformApiLatencyHigh: "10m",
    });
    expect(Object.fromEntries(rules.map((r) => [r.alert, r.labels.severity]))).toMatchObject({ ModelServerDown: "critical", InferenceLatencyHigh: "warning", DataDriftCritical: "critical", PredictionEventsDropped: "warning" });
  });

  test("every alert carries the team label when given, and a runbook link; a label value routing cannot use is refused", () => {
    const rules = buildAlertRules({ ...FIXTURE_PARAMS, team: "ml-platform", runbookBaseUrl: "https://git.example.com/mlops/blob/main/docs/runbooks/" }).flatMap((g) => g.rules);
    for (const r of rules) {
      expect(r.labels.team).toBe("ml-platform");
      expect(r.annotations.runbook_url).toBe(`https://git.example.com/mlops/blob/main/docs/runbooks/${r.alert}.md`);
    }
    expect(buildAlertRules(FIXTURE_PARAMS).flatMap((g) => g.rules).every((r) => !("team" in r.labels))).toBe(true);
    expect(() => buildAlertRules({ ...FIXTURE_PARAMS, team: 'ml"platform' })).toThrow('team: "ml"platform" is not a label value for routing');
    expect(() => buildAlertRules({ ...FIXTURE_PARAMS, runbookBaseUrl: "docs/run books" })).toThrow('runbookBaseUrl: "docs/run books" is not a URL or path');
  });

  test("the platform API's alerts: their own group, no model label, the serving rule's error ratio, predictions only for latency", () => {
    const groups = buildAlertRules(FIXTURE_PARAMS);
    expect(groups.map((g) => g.name)).toEqual(["mlops-serving", "mlops-drift", "mlops-quality", "mlops-api"]);
    const api = groups.find((g) => g.name === "mlops-api")!.rules;
    expect(api.map((r) => r.alert)).toEqual(["PlatformApiDown", "PlatformApiErrorRatioHigh", "PlatformApiLatencyHigh"]);
    for (const r of api) {
      expect(r.labels).toEqual({ severity: SEVERITY[r.alert], platform: "mlops" });
      expect(r.expr).not.toMatch(/\bmodel\b|mlops_model/);
      expect(r.annotations.runbook_url).toBe(`docs/runbooks/${r.alert}.md`);
    }
    const expr = (alert: string, params: AlertRuleParams = FIXTURE_PARAMS) => buildAlertRules(params).flatMap((g) => g.rules).find((r) => r.alert === alert)!.expr;
    expect(expr("PlatformApiDown")).toBe('up{mlops_component="api"} == 0');
    // Every 5xx counts, 503 included (serving or the monitor unreachable behind the API); by operation.
    expect(expr("PlatformApiErrorRatioHigh")).toContain('sum by (operation) (rate(mlops_api_requests_total{status=~"5.."}[5m]))');
    expect(expr("PlatformApiErrorRatioHigh", { ...FIXTURE_PARAMS, errorRatio: 0.05, rateWindow: "2m" })).toContain(") > 0.05\nand on (operation)\n  sum by (operation) (rate(mlops_api_requests_total[2m])) > 0");
    expect(expr("PlatformApiLatencyHigh")).toBe(
      'histogram_quantile(0.95, sum by (operation, le) (rate(mlops_api_request_duration_seconds_bucket{operation=~"createPrediction|predictBatch"}[5m]))) > 0.5',
    );
    expect(expr("PlatformApiLatencyHigh", { ...FIXTURE_PARAMS, apiLatencyP95Seconds: 0.8 })).toMatch(/\) > 0\.8$/);
  });

  test("the prediction operations the latency rule watches are operationIds the platform API declares", () => {
    const routes = path.join(ROOT, "services/api/src/routes");
    const declared = new Set(readdirSync(routes).flatMap((f) => [...readFileSync(path.join(routes, f), "utf8").matchAll(/operationId: "(\w+)"/g)].map((m) => m[1])));
    expect(declared.has("deployModel")).toBe(true);
    for (const op of API_PREDICTION_OPERATIONS) expect([op, declared.has(op)]).toEqual([op, true]);
  });

  test("bad parameters are refused with every problem named", () => {
    expect(() =>
      buildAlertRules({ ...FIXTURE_PARAMS, errorRatio: 2, apiLatencyP95Seconds: -1, driftShareWarning: 0.8, driftShareCritical: 0.5, for: { ModelQualityLow: "soon" }, models: [{ name: "Bad_Name", accuracyThreshold: 0.9 }] }),
    ).toThrow(
      [
        "invalid alert rule parameters:",
        "  errorRatio: expected a number between 0 and 1 (exclusive), got 2",
        "  apiLatencyP95Seconds: expected a positive number of seconds, got -1",
        "  driftShareWarning (0.8) must not exceed driftShareCritical (0.5)",
        '  models: "Bad_Name" is not a model name (lower-case DNS label)',
        '  for.ModelQualityLow: "soon" is not a Prometheus duration such as 30s, 2m or 1h',
      ].join("\n"),
    );
  });
});

describe("scripts/render-alert-rules.ts (the local platform's rule file)", () => {
  const cli = (args: string[]) => run(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "scripts/render-alert-rules.ts"), ...args], { cwd: ROOT });

  test("--stack writes exactly the groups the stack deploys as its PrometheusRule", async () => {
    const out = path.join(dir, "prod-rules.yml");
    const r = cli(["--stack", "prod", "--out", out]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const { objects } = await planStack("prod");
    expect(parse(readFileSync(out, "utf8")).groups).toEqual(objects.find((o) => o.kind === "PrometheusRule")!.spec.groups);
  });

  test("--for shortens every duration for a local demo; the file and the Alertmanager config check out", () => {
    const out = path.join(dir, "local", "rules.yml");
    const am = path.join(dir, "local", "alertmanager.yml");
    const r = cli(["--models", "fraud-detector=0.85", "--for", "20s", "--min-labels", "50", "--out", out, "--alertmanager", am, "--webhook-url", "http://127.0.0.1:18080/v1/alerts"]);
    expect(r.status).toBe(0);
    const rules = parse(readFileSync(out, "utf8")).groups.flatMap((g: any) => g.rules);
    expect(new Set(rules.map((x: any) => x.for))).toEqual(new Set(["20s"]));
    expect(rules.find((x: any) => x.alert === "ModelQualityLow").expr).toContain(">= 50");
    expect(run(promtool, ["check", "rules", out]).status).toBe(0);
    const config = parse(readFileSync(am, "utf8"));
    // The monitor is the only receiver (no people locally), and no null receiver is left.
    expect(config.receivers.map((r: any) => r.name)).toEqual(["mlops-monitor"]);
    expect(config.receivers[0].webhook_configs[0].url).toBe("http://127.0.0.1:18080/v1/alerts");
    const amtool = requireTool("amtool", "prometheus-alertmanager");
    const check = run(amtool, ["check-config", am]);
    expect(check.output).toContain("SUCCESS");
    expect(check.status).toBe(0);
  });

  test("a bad option or value exits 2 with a message", () => {
    expect(cli(["--bogus", "1"])).toMatchObject({ status: 2, stderr: expect.stringContaining('unknown option "--bogus"') });
    expect(cli(["--models", "fraud-detector"])).toMatchObject({ status: 2, stderr: expect.stringContaining('"fraud-detector" is not <model>=<accuracy threshold>') });
    expect(cli(["--stack", "nope"])).toMatchObject({ status: 2, stderr: expect.stringContaining('no stack "nope"') });
    expect(cli(["--for", "soon"])).toMatchObject({ status: 2, stderr: expect.stringContaining('"soon" is not a Prometheus duration') });
  });
});
