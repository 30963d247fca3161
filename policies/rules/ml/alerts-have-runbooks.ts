import { resourceRule } from "../support/define";
import { platform } from "../support/frameworks";

const PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule";

/** The alerting rules of a PrometheusRule's groups (recording rules have no `alert`). */
function alertsOf(spec: any): { group: string; alert: string; annotations: Record<string, unknown> }[] {
  return (spec?.groups ?? []).flatMap((g: any) =>
    (g?.rules ?? []).filter((r: any) => typeof r?.alert === "string").map((r: any) => ({ group: String(g.name ?? "?"), alert: r.alert as string, annotations: r.annotations ?? {} })),
  );
}

/** An http(s) URL, or a path inside the repository (docs/runbooks/<Alert>.md). */
function isRunbookLink(value: unknown): boolean {
  if (typeof value !== "string" || value.trim() === "") return false;
  if (/^https?:\/\/[^\s/]+\/\S*$/.test(value)) return true;
  return /^[\w./-]+\.md(#[\w-]+)?$/.test(value) && !value.includes("..");
}

export const mlAlertsHaveRunbooks = resourceRule(
  {
    name: "ml-alerts-have-runbooks",
    description:
      "Every alerting rule of a PrometheusRule carries a runbook_url annotation (an http(s) URL or a Markdown path of the repository): a person paged at night needs what the alert means, how to confirm it, what to do and what the monitor may already have done, not only its name.",
    severity: "medium",
    framework: platform("Operations: every page links its runbook (docs/runbooks/)"),
    clouds: ["kubernetes"],
    enforcementLevel: "mandatory",
    remediationSteps:
      "Add annotations.runbook_url to the rule (components/kubernetes/alert-rules.ts sets `<runbookBaseUrl>/<Alert>.md` on the platform's rules) and write the runbook in docs/runbooks/.",
  },
  [
    (args, report) => {
      if (args.type !== PROMETHEUS_RULE) return;
      const name = args.props.metadata?.name ?? args.name;
      for (const a of alertsOf(args.props.spec)) {
        if (!isRunbookLink(a.annotations.runbook_url)) {
          report(`PrometheusRule ${name}: alert ${a.alert} (group ${a.group}) has ${a.annotations.runbook_url === undefined ? "no runbook_url annotation" : `runbook_url ${JSON.stringify(a.annotations.runbook_url)}, which is not a URL or a .md path`}`);
        }
      }
    },
  ],
);
