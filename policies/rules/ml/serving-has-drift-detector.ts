import type { PolicyResource } from "@pulumi/policy";
import { checkEach, stackRule } from "../support/define";
import { platform } from "../support/frameworks";
import { envLiteral, matchLabels, podLabelsOf } from "../support/kubernetes";
import { K8S } from "../support/types";
import { driftWorkloads, ML_CONVENTION_SCHEMA, servingWorkloads, type MlConventions } from "./recognise";

interface Params extends MlConventions {
  requireEventFeed: boolean;
}

/** Hosts of the Services that select `pods` (`drift-m`, `drift-m.ns`, `drift-m.ns.svc`, `drift-m.ns.svc.cluster.local`). */
function serviceHosts(resources: PolicyResource[], pods: { type: string; props: Record<string, any> }): string[] {
  const labels = podLabelsOf(pods.type, pods.props);
  const namespace = pods.props.metadata?.namespace ?? "default";
  return resources
    .filter((s) => s.type === K8S.service && (s.props.metadata?.namespace ?? "default") === namespace && matchLabels(s.props.spec?.selector, labels))
    .flatMap((s) => {
      const name = s.props.metadata?.name;
      return [name, `${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`];
    });
}

function sinkHosts(sinks: string | undefined): string[] {
  return (sinks ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .flatMap((s) => {
      try {
        return [new URL(s).hostname];
      } catch {
        return [];
      }
    });
}

export const mlServingHasDriftDetector = stackRule(
  {
    name: "ml-serving-has-drift-detector",
    description:
      "Every model the platform serves has a running drift detector for the same model, and (with requireEventFeed) the serving workload sends its prediction events to that detector's Service through EVENT_SINKS. A model whose inputs drift away from its training data keeps answering with confidence; without a detector, nobody finds out until the business metrics do.",
    severity: "high",
    framework: platform("Every production model is watched for data drift"),
    clouds: ["kubernetes"],
    enforcementLevel: "mandatory",
    configSchema: { properties: { ...ML_CONVENTION_SCHEMA, requireEventFeed: { type: "boolean", default: true } } },
    remediationSteps:
      "Deploy a DriftDetector (components/kubernetes) for the model (mlops:models[].drift.enabled true), and list its Service URL in the serving workload's EVENT_SINKS (the Platform component does both).",
  },
  (args, report) => {
    const params = args.getConfig<Params>();
    const detectors = driftWorkloads(args.resources, params);
    checkEach(
      servingWorkloads(args.resources, params).map((s) => s.resource!),
      report,
      (resource, reportHere) => {
        const serving = servingWorkloads([resource], params)[0];
        if (!serving.model) {
          reportHere(`${serving.label} serves a model it does not name (no ${params.modelLabel} label, MODEL_NAME or models:/ URI): its drift detector cannot be matched`);
          return;
        }
        const running = detectors.filter((d) => d.model === serving.model && Number(d.props.spec?.replicas ?? 1) > 0);
        if (running.length === 0) {
          reportHere(`model "${serving.model}" is served by ${serving.label} without a running drift detector (a workload labelled ${params.modelLabel}: ${serving.model} with app.kubernetes.io/component: ${params.driftComponent})`);
          return;
        }
        if (!params.requireEventFeed) return;
        const hosts = new Set(running.flatMap((d) => serviceHosts(args.resources, d)));
        const sinks = sinkHosts(serving.main ? envLiteral(serving.main, "EVENT_SINKS") : undefined);
        if (hosts.size === 0) reportHere(`the drift detector of model "${serving.model}" has no Service: serving cannot send it events`);
        else if (!sinks.some((h) => hosts.has(h))) reportHere(`${serving.label} does not send its prediction events to the drift detector of "${serving.model}": add its Service URL (${[...hosts][2] ?? [...hosts][0]}) to EVENT_SINKS`);
      },
    );
  },
);
