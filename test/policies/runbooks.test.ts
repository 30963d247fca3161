/** ml-alerts-have-runbooks: a page without a runbook is refused; the platform's own rules pass on every stack. */
import { mlAlertsHaveRunbooks } from "../../policies/rules/ml/alerts-have-runbooks";
import { check, messages, resource } from "../helpers/policy-engine";
import { plan } from "../helpers/plan";

const PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule";
const ruleWith = (annotations: Record<string, unknown>) =>
  resource(PROMETHEUS_RULE, {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: { name: "team-alerts", namespace: "monitoring" },
    spec: {
      groups: [
        {
          name: "team",
          rules: [
            { record: "job:up:sum", expr: "sum(up) by (job)" },
            { alert: "Something", expr: "up == 0", annotations },
          ],
        },
      ],
    },
  });

test("an alert without a runbook_url, or with one that links nowhere, is refused by name", async () => {
  expect(messages(await check(mlAlertsHaveRunbooks, [ruleWith({ summary: "x" })]))).toEqual(["PrometheusRule team-alerts: alert Something (group team) has no runbook_url annotation"]);
  expect(messages(await check(mlAlertsHaveRunbooks, [ruleWith({ runbook_url: "see the wiki" })]))).toEqual([
    'PrometheusRule team-alerts: alert Something (group team) has runbook_url "see the wiki", which is not a URL or a .md path',
  ]);
});

test("a URL or a repository path passes; recording rules need none", async () => {
  expect(await check(mlAlertsHaveRunbooks, [ruleWith({ runbook_url: "https://github.com/acme/mlops-platform/blob/main/docs/runbooks/Something.md" })])).toEqual([]);
  expect(await check(mlAlertsHaveRunbooks, [ruleWith({ runbook_url: "docs/runbooks/Something.md" })])).toEqual([]);
});

test.each(["dev", "prod", "gcp-prod", "azure-prod", "local"])("the platform's alert rules pass on stack %s", async (stack) => {
  const r = await plan({ stack });
  expect(r.resources.some((x) => x.type === PROMETHEUS_RULE)).toBe(true);
  expect(messages(await check(mlAlertsHaveRunbooks, r.resources))).toEqual([]);
});
