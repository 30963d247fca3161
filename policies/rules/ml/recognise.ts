import type { PolicyResource } from "@pulumi/policy";
import { envLiteral, podLabelsOf } from "../support/kubernetes";
import { toWorkload, type Workload } from "../support/workloads";
import { K8S } from "../support/types";

/**
 * How the ML rules recognise the platform's workloads. The Kubernetes components label them
 * (components/kubernetes: recommendedLabels + MODEL_LABEL): serving pods carry
 * app.kubernetes.io/component "model-serving", drift detectors "drift-detection", both carry the
 * model in "mlops-platform/model". A workload that loads MODEL_URI (or REFERENCE_URI) counts too,
 * so a serving Deployment without the labels cannot slip past the rules.
 */
export interface MlConventions {
  servingComponent: string;
  driftComponent: string;
  modelLabel: string;
}

export const ML_CONVENTION_SCHEMA = {
  servingComponent: { type: "string", default: "model-serving" },
  driftComponent: { type: "string", default: "drift-detection" },
  modelLabel: { type: "string", default: "mlops-platform/model" },
} as const;

export const ML_WORKLOAD_TYPES: string[] = [K8S.deployment, K8S.statefulSet, K8S.replicaSet, K8S.pod];
const COMPONENT = "app.kubernetes.io/component";

export interface MlWorkload extends Workload {
  resource?: PolicyResource;
  model: string | undefined;
  /** The container that loads the model (the one with MODEL_URI / REFERENCE_URI, else the first). */
  main: Record<string, any> | undefined;
}

function hasEnv(workload: Workload, name: string): boolean {
  return workload.containers.some((c) => (c.container.env ?? []).some((e: { name: string }) => e.name === name));
}

function labels(workload: Workload): Record<string, string> {
  return { ...(workload.props.metadata?.labels ?? {}), ...podLabelsOf(workload.type, workload.props) };
}

export function modelOf(workload: Workload, main: Record<string, any> | undefined, conventions: MlConventions): string | undefined {
  const fromLabel = labels(workload)[conventions.modelLabel];
  if (fromLabel) return fromLabel;
  const fromEnv = main ? envLiteral(main, "MODEL_NAME") : undefined;
  if (fromEnv) return fromEnv;
  const uri = main ? (envLiteral(main, "MODEL_URI") ?? envLiteral(main, "REFERENCE_URI")) : undefined;
  return uri ? /^models:\/([^/@]+)/.exec(uri)?.[1] : undefined;
}

function classify(workload: Workload, role: "serving" | "drift", conventions: MlConventions): MlWorkload | undefined {
  const component = role === "serving" ? conventions.servingComponent : conventions.driftComponent;
  const uriVariable = role === "serving" ? "MODEL_URI" : "REFERENCE_URI";
  if (labels(workload)[COMPONENT] !== component && !hasEnv(workload, uriVariable)) return undefined;
  const main = workload.containers.find((c) => (c.container.env ?? []).some((e: { name: string }) => e.name === uriVariable))?.container ?? workload.podSpec?.containers?.[0];
  return { ...workload, main, model: modelOf(workload, main, conventions) };
}

export function asServing(type: string, props: Record<string, any>, conventions: MlConventions): MlWorkload | undefined {
  return ML_WORKLOAD_TYPES.includes(type) ? classify(toWorkload(type, props), "serving", conventions) : undefined;
}

export function servingWorkloads(resources: PolicyResource[], conventions: MlConventions): MlWorkload[] {
  return resources.flatMap((r) => {
    const w = asServing(r.type, r.props, conventions);
    return w ? [{ ...w, resource: r }] : [];
  });
}

export function driftWorkloads(resources: PolicyResource[], conventions: MlConventions): MlWorkload[] {
  return resources.flatMap((r) => {
    if (!ML_WORKLOAD_TYPES.includes(r.type)) return [];
    const w = classify(toWorkload(r.type, r.props), "drift", conventions);
    return w ? [{ ...w, resource: r }] : [];
  });
}
