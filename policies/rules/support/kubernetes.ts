import type { PolicyResource } from "@pulumi/policy";
import { peek } from "./define";
import { K8S, kindOf } from "./types";

type Obj = Record<string, any>;

/** The pod template of any workload kind (CronJob -> Job -> Pod template; a Pod is its own template). */
export function podTemplateOf(type: string, props: Obj): { metadata?: Obj; spec?: Obj } | undefined {
  if (type === K8S.pod) return { metadata: props.metadata, spec: props.spec };
  if (type === K8S.cronJob) return props.spec?.jobTemplate?.spec?.template;
  return props.spec?.template;
}

export function podSpecOf(type: string, props: Obj): Obj | undefined {
  return podTemplateOf(type, props)?.spec;
}

export function podLabelsOf(type: string, props: Obj): Record<string, string> {
  return podTemplateOf(type, props)?.metadata?.labels ?? {};
}

export interface ContainerRef {
  kind: "container" | "initContainer" | "ephemeralContainer";
  container: Obj;
}

/** Every container of a pod spec: init, regular and ephemeral containers all run code. */
export function containersOf(spec: Obj | undefined): ContainerRef[] {
  if (!spec) return [];
  return [
    ...(spec.initContainers ?? []).map((c: Obj) => ({ kind: "initContainer" as const, container: c })),
    ...(spec.containers ?? []).map((c: Obj) => ({ kind: "container" as const, container: c })),
    ...(spec.ephemeralContainers ?? []).map((c: Obj) => ({ kind: "ephemeralContainer" as const, container: c })),
  ];
}

export function describeContainer(ref: ContainerRef): string {
  return `${ref.kind} "${peek(() => ref.container.name) ?? "?"}"`;
}

/** `Deployment "mlops/serving-fraud"`: how messages name a Kubernetes object. */
export function describeObject(type: string, props: Obj): string {
  // Only for messages: an unknown namespace or name must not stop the check itself.
  const ns = peek(() => props.metadata?.namespace);
  const name = peek(() => props.metadata?.name) ?? "(name known after the update)";
  return `${kindOf(type)} "${ns ? `${ns}/` : ""}${name}"`;
}

export type EnvSource = { literal: string } | { from: string } | undefined;

/** Where an env var's value comes from: a literal, or a reference (Secret, ConfigMap, field). */
export function envSource(container: Obj, name: string): EnvSource {
  const entry = (container.env ?? []).find((e: Obj) => e.name === name);
  if (!entry) return undefined;
  if (entry.valueFrom) return { from: Object.keys(entry.valueFrom)[0] ?? "valueFrom" };
  return { literal: String(entry.value ?? "") };
}

export function envLiteral(container: Obj, name: string): string | undefined {
  const source = envSource(container, name);
  return source && "literal" in source ? source.literal : undefined;
}

/** A matchLabels selector selects labels when every pair is present; an empty selector selects nothing here. */
export function matchLabels(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** A full LabelSelector (matchLabels + matchExpressions), as NetworkPolicies, PDBs and ServiceMonitors use it. */
export function labelSelectorMatches(selector: Obj | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector) return false;
  const l = labels ?? {};
  const pairs = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => l[k] === v);
  const expressions = (selector.matchExpressions ?? []).every((e: Obj) => {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    switch (e.operator) {
      case "In":
        return has && (e.values ?? []).includes(l[e.key]);
      case "NotIn":
        return !has || !(e.values ?? []).includes(l[e.key]);
      case "Exists":
        return has;
      case "DoesNotExist":
        return !has;
      default:
        return false;
    }
  });
  return pairs && expressions;
}

export function isEmptySelector(selector: Obj | undefined): boolean {
  return !selector || (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0);
}

export function namespaceOf(resource: PolicyResource | { props: Obj }): string {
  return resource.props.metadata?.namespace ?? "default";
}
