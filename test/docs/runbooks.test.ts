/**
 * Rules and runbooks one-to-one (issue 14): every alert rule of components/kubernetes/alert-rules.ts has
 * docs/runbooks/<AlertName>.md and every runbook an alert; each runbook has the four sections; every
 * rule's runbook_url points at its file; the index lists them all; what a runbook states about its alert
 * (severity, `for`, the metrics to query) agrees with the rule.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { ALERT_NAMES, DEFAULT_FOR, RUNBOOK_DIR, SEVERITY, buildAlertRules, runbookUrl, type AlertName } from "../../components/kubernetes/alert-rules";

const ROOT = path.resolve(__dirname, "..", "..");
const DIR = path.join(ROOT, RUNBOOK_DIR);
const SECTIONS = ["What it means", "How to confirm", "What to do", "What the monitor may already have done"];
const PARAMS = { errorRatio: 0.02, latencyP95Seconds: 0.1, driftShareWarning: 0.3, driftShareCritical: 0.7, models: [{ name: "fraud-detector", accuracyThreshold: 0.9 }] };

const runbookFiles = () => readdirSync(DIR).filter((f) => f.endsWith(".md") && f !== "README.md");
const read = (alert: string) => readFileSync(path.join(DIR, `${alert}.md`), "utf8");
/** The text of a `## <title>` section, up to the next `## `. */
function section(text: string, title: string): string {
  const start = text.indexOf(`\n## ${title}\n`);
  if (start < 0) return "";
  const rest = text.slice(start + title.length + 5);
  const end = rest.search(/\n## /);
  return end < 0 ? rest : rest.slice(0, end);
}

test("every alert has its runbook, and every runbook an alert", () => {
  expect(runbookFiles().map((f) => f.replace(/\.md$/, "")).sort()).toEqual([...ALERT_NAMES].sort());
});

describe.each([...ALERT_NAMES])("runbook of %s", (alert: AlertName) => {
  let text: string;
  beforeAll(() => {
    text = read(alert);
  });

  test("is titled with the alert and has the four sections, in order, none empty", () => {
    expect(text.split("\n")[0]).toBe(`# ${alert}`);
    const headings = [...text.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    expect(headings).toEqual(SECTIONS);
    for (const title of SECTIONS) expect([title, section(text, title).trim().length > 80]).toEqual([title, true]);
  });

  test("states the rule's severity and `for`", () => {
    expect(text).toContain(`**Severity** ${SEVERITY[alert]} · **for** ${DEFAULT_FOR[alert]}`);
  });

  test("confirms with the metrics the rule is built on", () => {
    const rules = buildAlertRules(PARAMS).flatMap((g) => g.rules).filter((r) => r.alert === alert);
    // Metric names, not the label names quoted in label_replace().
    const metrics = new Set(rules.flatMap((r) => r.expr.match(/(?<!")\b(mlops_[a-z_]+|up)\b(?!")/g) ?? []).map((m) => m.replace(/_bucket$/, "")));
    const confirm = section(text, "How to confirm");
    for (const metric of metrics) expect([metric, confirm.includes(metric)]).toEqual([metric, true]);
  });

  test("tells how to read what the monitor did", () => {
    expect(section(text, "What the monitor may already have done")).toContain("/v1/alerts/actions");
  });

  test("links only to runbooks that exist", () => {
    for (const [, target] of text.matchAll(/\]\(([A-Za-z]+\.md)\)/g)) expect(existsSync(path.join(DIR, target))).toBe(true);
  });
});

test("every rule's runbook_url is its runbook: the repository path by default, under a stack's base URL otherwise", () => {
  for (const r of buildAlertRules(PARAMS).flatMap((g) => g.rules)) {
    expect(r.annotations.runbook_url).toBe(`${RUNBOOK_DIR}/${r.alert}.md`);
    expect(existsSync(path.join(ROOT, r.annotations.runbook_url))).toBe(true);
  }
  const base = "https://github.com/acme/mlops-platform/blob/main/docs/runbooks/";
  for (const r of buildAlertRules({ ...PARAMS, runbookBaseUrl: base }).flatMap((g) => g.rules)) {
    expect(r.annotations.runbook_url).toBe(`${base}${r.alert}.md`);
  }
  expect(runbookUrl("ModelQualityLow", base)).toBe(`${base}ModelQualityLow.md`);
  expect(() => buildAlertRules({ ...PARAMS, runbookBaseUrl: "https://x/{{ $labels.model }}" })).toThrow("runbookBaseUrl");
});

test("the index lists every runbook with its severity and `for`, and nothing else", () => {
  const index = readFileSync(path.join(DIR, "README.md"), "utf8");
  const rows = [...index.matchAll(/^\| \[(\w+)\]\((\w+)\.md\) \| (\w+) \| (\w+) \|/gm)].map((m) => ({ alert: m[1], file: m[2], severity: m[3], for: m[4] }));
  expect(rows.map((r) => r.alert)).toEqual([...ALERT_NAMES]);
  for (const r of rows) expect(r).toEqual({ alert: r.alert, file: r.alert, severity: SEVERITY[r.alert as AlertName], for: DEFAULT_FOR[r.alert as AlertName] });
});
