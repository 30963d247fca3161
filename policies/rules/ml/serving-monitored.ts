import type { PolicyResource } from "@pulumi/policy";
import { checkEach, peek, stackRule } from "../support/define";
import { platform } from "../support/frameworks";
import { labelSelectorMatches, matchLabels, podLabelsOf } from "../support/kubernetes";
import { K8S } from "../support/types";
import { driftWorkloads, ML_CONVENTION_SCHEMA, servingWorkloads, type MlConventions } from "./recognise";

const POD_MONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor";

/** Whether a monitor's namespaceSelector covers `namespace` (without one, only its own namespace). */
function coversNamespace(monitor: PolicyResource, namespace: string): boolean {
  const selector = monitor.props.spec?.namespaceSelector;
  if (selector?.any === true) return true;
  if (selector?.matchNames?.length) return selector.matchNames.includes(namespace);
  return (monitor.props.metadata?.namespace ?? "default") === namespace;
}

/**
 * The label a ServiceMonitor needs for kube-prometheus-stack's Prometheus to pick it up: with the
 * chart's defaults, Prometheus only selects monitors labelled `release: <release name>`.
 */
function requiredReleaseLabel(resources: PolicyResource[]): { release: string } | undefined {
  for (const release of resources.filter((r) => r.type === K8S.helmRelease && String(peek(() => r.props.chart) ?? "").endsWith("kube-prometheus-stack"))) {
    const spec = release.props.values?.prometheus?.prometheusSpec ?? {};
    if (spec.serviceMonitorSelectorNilUsesHelmValues === false || spec.serviceMonitorSelector) continue;
    return { release: release.props.name ?? release.name };
  }
  return undefined;
}

function monitored(resources: PolicyResource[], workload: { type: string; props: Record<string, any> }): string | undefined {
  const labels = podLabelsOf(workload.type, workload.props);
  const namespace = workload.props.metadata?.namespace ?? "default";
  const needs = requiredReleaseLabel(resources);
  const picked = (m: PolicyResource) => !needs || m.props.metadata?.labels?.release === needs.release;
  const podMonitors = resources.filter((m) => m.type === POD_MONITOR && coversNamespace(m, namespace) && labelSelectorMatches(m.props.spec?.selector, labels));
  if (podMonitors.some(picked)) return undefined;
  const services = resources.filter((s) => s.type === K8S.service && (s.props.metadata?.namespace ?? "default") === namespace && matchLabels(s.props.spec?.selector, labels));
  if (services.length === 0) return "no Service selects its pods, so no ServiceMonitor can scrape them";
  const monitors = resources.filter((m) => m.type === K8S.serviceMonitor);
  const candidates = services.flatMap((service) =>
    monitors
      .filter((m) => coversNamespace(m, namespace) && labelSelectorMatches(m.props.spec?.selector, service.props.metadata?.labels))
      .map((m) => ({ m, service })),
  );
  if (candidates.length === 0) return `no ServiceMonitor selects its Service "${services[0].props.metadata?.name}" (check the monitor's selector and namespaceSelector)`;
  const withPort = candidates.filter(({ m, service }) => {
    const ports: any[] = service.props.spec?.ports ?? [];
    return (m.props.spec?.endpoints ?? []).some((e: any) => ports.some((p) => (e.port !== undefined && p.name === e.port) || (e.targetPort !== undefined && String(p.targetPort ?? p.port) === String(e.targetPort))));
  });
  if (withPort.length === 0) return `the ServiceMonitor "${candidates[0].m.props.metadata?.name}" scrapes a port its Service "${candidates[0].service.props.metadata?.name}" does not have`;
  if (!withPort.some(({ m }) => picked(m))) return `its ServiceMonitor lacks the label release: ${needs!.release}, so the kube-prometheus-stack Prometheus ignores it`;
  return undefined;
}

export const mlServingMonitored = stackRule(
  {
    name: "ml-serving-monitored",
    description:
      "Every serving workload and every drift detector is scraped by Prometheus through a ServiceMonitor (or PodMonitor) that selects its Service, covers its namespace, names a port the Service has and is picked up by the Prometheus of kube-prometheus-stack. The alert rules (ModelServerDown, InferenceErrorRatioHigh, DataDriftDetected...) only see what is scraped; an unscraped model fails silently.",
    severity: "high",
    framework: platform("Every production model is monitored"),
    clouds: ["kubernetes"],
    enforcementLevel: "mandatory",
    configSchema: { properties: { ...ML_CONVENTION_SCHEMA } },
    remediationSteps:
      "Give the workload a Service with a named metrics port and a monitoring.coreos.com/v1 ServiceMonitor selecting the Service's labels (namespaceSelector if it lives elsewhere) on that port; with kube-prometheus-stack's defaults, label it release: <release>, or set serviceMonitorSelectorNilUsesHelmValues false.",
  },
  (args, report) => {
    const params = args.getConfig<MlConventions>();
    const watched = [...servingWorkloads(args.resources, params).map((w) => ({ w, role: "serving" })), ...driftWorkloads(args.resources, params).map((w) => ({ w, role: "drift detector" }))];
    checkEach(
      watched.map(({ w }) => w.resource!),
      report,
      (resource, reportHere) => {
        const { w, role } = watched.find((x) => x.w.resource === resource)!;
        const problem = monitored(args.resources, w);
        if (problem) reportHere(`${role} ${w.label} (model "${w.model ?? "?"}") is not monitored: ${problem}`);
      },
    );
  },
);
