/**
 * Runs the pack's real rule objects over hand-built or planned resources, with the engine semantics
 * of scripts/plan/policy-engine.ts (the same engine the offline gate uses). Never constructs the
 * PolicyPack: that would start the analyzer's gRPC server in the test process.
 */
import type { Rule } from "../../policies/rules";
import type { DeclaredResource } from "../../scripts/plan/harness";
import { runPolicies, type EngineOptions, type PackConfig, type Violation } from "../../scripts/plan/policy-engine";

export { runPolicies };
export type { Violation };

/** The value the Pulumi runtime hands over for an input unknown during preview. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const PROJECT = "mlops-platform";

let counter = 0;

/**
 * A resource as the harness records it: `inputs` for resource policies, `state` (outputs, here the
 * inputs plus the id) for stack policies. `propertyDependencies` link it to other resources by URN.
 */
export function resource(type: string, inputs: Record<string, any>, extra: Partial<DeclaredResource> = {}): DeclaredResource {
  const name = extra.name ?? `r${++counter}`;
  return {
    type,
    name,
    urn: urnOf(type, name),
    inputs,
    custom: true,
    protect: false,
    dependencies: [],
    propertyDependencies: {},
    secretPaths: [],
    id: `${name}-id`,
    state: { ...inputs, ...(extra.state ?? {}) },
    ...extra,
  };
}

export function urnOf(type: string, name: string): string {
  return `urn:pulumi:test::${PROJECT}::${type}::${name}`;
}

/** `from.inputs[property]` points at `to` (an Output of it, as the engine records the property dependency). */
export function dependsOn(from: DeclaredResource, property: string, ...to: DeclaredResource[]): DeclaredResource {
  from.propertyDependencies[property] = [...(from.propertyDependencies[property] ?? []), ...to.map((t) => t.urn)];
  from.dependencies = [...new Set([...from.dependencies, ...to.map((t) => t.urn)])];
  return from;
}

/** Runs one rule at mandatory (unless the config says otherwise) with its schema defaults plus `params`. */
export async function check(rule: Rule, resources: DeclaredResource[], params: Record<string, unknown> = {}, options: Omit<EngineOptions, "config"> = {}): Promise<Violation[]> {
  const config: PackConfig = { [rule.name]: { enforcementLevel: "mandatory", ...params } };
  return runPolicies([rule], resources, { ...options, config });
}

export function messages(violations: Violation[]): string[] {
  return violations.map((v) => v.message);
}

/** A copy of the resources with one resource changed (found by name): for mutations of a real plan. */
export function mutate(resources: DeclaredResource[], name: string, change: (r: DeclaredResource) => void): DeclaredResource[] {
  let found = false;
  const copy = resources.map((r) => {
    if (r.name !== name) return r;
    found = true;
    const clone = structuredClone(r);
    change(clone);
    return clone;
  });
  if (!found) throw new Error(`no resource named ${name} in the plan`);
  return copy;
}

const LABELS = {
  "app.kubernetes.io/name": "serving",
  "app.kubernetes.io/instance": "serving-fraud-detector",
  "app.kubernetes.io/component": "model-serving",
  "app.kubernetes.io/part-of": "mlops-platform",
  "app.kubernetes.io/managed-by": "pulumi",
  "mlops-platform/model": "fraud-detector",
};

export const GOOD_IMAGE = `123456789012.dkr.ecr.us-west-2.amazonaws.com/mlops/serving:0.1.0@sha256:${"a".repeat(64)}`;

/** A serving Deployment that meets every workload rule, in the platform's shape; tests break one thing at a time. */
export function goodDeployment(
  overrides: { container?: Record<string, any>; pod?: Record<string, any>; metadata?: Record<string, any>; replicas?: number; env?: Record<string, any>[]; labels?: Record<string, string> } = {},
): Record<string, any> {
  const labels = { ...LABELS, ...(overrides.labels ?? {}) };
  const selector = { "app.kubernetes.io/name": labels["app.kubernetes.io/name"], "app.kubernetes.io/instance": labels["app.kubernetes.io/instance"] };
  return {
    metadata: { name: labels["app.kubernetes.io/instance"], namespace: "mlops", labels, ...(overrides.metadata ?? {}) },
    spec: {
      replicas: overrides.replicas ?? 3,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "serving",
              image: GOOD_IMAGE,
              env: overrides.env ?? [
                { name: "MODEL_NAME", value: "fraud-detector" },
                { name: "MODEL_URI", value: "models:/fraud-detector@champion" },
                { name: "MLFLOW_TRACKING_PASSWORD", valueFrom: { secretKeyRef: { name: "mlflow-user-serving", key: "password" } } },
                { name: "EVENT_SINKS", value: "http://drift-fraud-detector.mlops.svc.cluster.local:8080,http://monitor.mlops.svc.cluster.local:8080" },
              ],
              ports: [
                { name: "http", containerPort: 8080 },
                { name: "metrics", containerPort: 9090 },
              ],
              resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "1", memory: "512Mi" } },
              livenessProbe: { httpGet: { path: "/health/live", port: "http" } },
              readinessProbe: { httpGet: { path: "/health/ready", port: "http" } },
              securityContext: { allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
              ...(overrides.container ?? {}),
            },
          ],
          volumes: [{ name: "tmp", emptyDir: { sizeLimit: "256Mi" } }],
          ...(overrides.pod ?? {}),
        },
      },
    },
  };
}

export const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
export const SERVICE = "kubernetes:core/v1:Service";
export const SERVICE_MONITOR = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor";
