import type { PolicyResource } from "@pulumi/policy";
import { checkEach, peek, stackRule } from "../support/define";
import { platform } from "../support/frameworks";
import { K8S } from "../support/types";

/** The Velero Schedule custom resource, as pulumi-kubernetes names its type. */
export const VELERO_SCHEDULE = "kubernetes:velero.io/v1:Schedule";

interface Params {
  namespaces: string[];
  minimumRetentionDays: number;
  veleroChart: string;
}

const CRON_FIELD = /^(\*|\d+(-\d+)?)(\/\d+)?(,(\*|\d+(-\d+)?)(\/\d+)?)*$/;
const DESCRIPTORS = /^@(yearly|annually|monthly|weekly|daily|midnight|hourly|every \S+)$/;

/** A cron expression Velero's schedule parser takes: five numeric fields, or a descriptor (`@daily`, `@every 6h`). */
export function isVeleroCron(expression: unknown): boolean {
  if (typeof expression !== "string" || !expression.trim()) return false;
  const text = expression.trim();
  if (DESCRIPTORS.test(text)) return true;
  const fields = text.split(/\s+/);
  return fields.length === 5 && fields.every((f) => CRON_FIELD.test(f));
}

/** A Velero ttl (a Go duration such as `720h0m0s`) in hours; unset is Velero's default of 30 days; undefined when it does not parse. */
export function ttlHours(ttl: unknown): number | undefined {
  if (ttl === undefined || ttl === null || ttl === "") return 720;
  if (typeof ttl !== "string") return undefined;
  const m = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(ttl);
  if (!m || !(m[1] || m[2] || m[3])) return undefined;
  return Number(m[1] ?? 0) + Number(m[2] ?? 0) / 60 + Number(m[3] ?? 0) / 3600;
}

function isVeleroRelease(release: PolicyResource, chart: string): boolean {
  const name = String(peek(() => release.props.chart) ?? "");
  return name === chart || name.endsWith(`/${chart}`);
}

function covers(schedule: PolicyResource, namespace: string): boolean {
  const template = schedule.props.spec?.template ?? {};
  const included: string[] = template.includedNamespaces ?? [];
  const excluded: string[] = template.excludedNamespaces ?? [];
  const inScope = included.length === 0 || included.includes("*") || included.includes(namespace);
  return inScope && !excluded.includes(namespace) && !excluded.includes("*");
}

export const backupsVeleroSchedule = stackRule(
  {
    name: "backups-velero-schedule",
    description:
      "The cluster's state is backed up on a schedule: every platform namespace the stack declares is in an active Velero Schedule (a valid cron, not paused, a ttl of at least minimumRetentionDays) that lives in the namespace of a Velero server (the chart's Helm release). Without it, a lost cluster or a deleted namespace takes every object the program does not declare with it, and nobody finds out until the restore.",
    severity: "high",
    framework: platform("Cluster state is backed up on a schedule and restorable (backup and restore, issue 14)"),
    clouds: ["kubernetes"],
    enforcementLevel: "advisory",
    configSchema: {
      properties: {
        namespaces: { type: "array", items: { type: "string" }, default: ["mlops", "monitoring"] },
        minimumRetentionDays: { type: "integer", minimum: 1, default: 7 },
        veleroChart: { type: "string", default: "velero" },
      },
    },
    remediationSteps:
      "Deploy Velero (components/kubernetes/velero.ts: the pinned chart with the cloud's plugin and a backup store from the Foundation) and a velero.io/v1 Schedule in its namespace whose spec.template.includedNamespaces lists the platform's namespaces, with spec.schedule a cron expression, paused unset and spec.template.ttl at least the minimum (e.g. 720h0m0s).",
  },
  (args, report) => {
    const params = args.getConfig<Params>();
    const resources = args.resources;
    const veleroNamespaces = new Set(resources.filter((r) => r.type === K8S.helmRelease && isVeleroRelease(r, params.veleroChart)).map((r) => String(peek(() => r.props.namespace) ?? "default")));
    const schedules = resources.filter((r) => r.type === VELERO_SCHEDULE);
    const active: PolicyResource[] = [];
    checkEach(schedules, report, (schedule, reportHere) => {
      const label = `Velero Schedule "${schedule.props.metadata?.name ?? schedule.name}"`;
      const namespace = schedule.props.metadata?.namespace ?? "default";
      const spec = schedule.props.spec ?? {};
      const problems: string[] = [];
      if (!veleroNamespaces.has(namespace)) problems.push(`is in namespace "${namespace}", where no Velero server (a Helm release of the "${params.veleroChart}" chart) runs: nothing will ever run it`);
      if (!isVeleroCron(spec.schedule)) problems.push(`has no valid cron expression (spec.schedule ${JSON.stringify(spec.schedule ?? null)})`);
      if (spec.paused === true) problems.push("is paused");
      const hours = ttlHours(spec.template?.ttl);
      if (hours === undefined) problems.push(`has a ttl that is not a duration (${JSON.stringify(spec.template?.ttl)})`);
      else if (hours < params.minimumRetentionDays * 24) problems.push(`keeps backups ${spec.template?.ttl} (${Math.round((hours / 24) * 10) / 10} days); at least ${params.minimumRetentionDays} days required`);
      if (problems.length) reportHere(`${label} ${problems.join("; ")}`);
      else active.push(schedule);
    });
    const declared = resources.filter((r) => r.type === K8S.namespace && params.namespaces.includes(peek(() => r.props.metadata?.name)));
    checkEach(declared, report, (namespace, reportHere) => {
      const name = namespace.props.metadata.name as string;
      if (!active.some((s) => covers(s, name))) {
        reportHere(
          schedules.length === 0
            ? `namespace "${name}" is backed up by no Velero Schedule (the stack declares none): add one covering ${params.namespaces.join(", ")}`
            : `namespace "${name}" is in no active Velero Schedule (${schedules.map((s) => s.props.metadata?.name ?? s.name).join(", ")} do not cover it or are not valid)`,
        );
      }
    });
  },
);
