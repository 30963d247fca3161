import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ArtifactVolume, Foundation, IngressSupport, Toleration } from "../../../../components/contracts";
import { NAMESPACES } from "../../../../components/kubernetes/constants";
import { runProgram, type DeclaredResource, type PlanResult } from "../../../../scripts/plan/harness";

/** A Kubernetes object as the API server would receive it, with where it came from. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: any;
  /** Pulumi resource name, type token and explicit dependencies (URNs). */
  resource: { name: string; type: string; urn: string; dependencies: string[] };
  /** Paths (`stringData.password`) whose value the program marked secret (the harness unwraps them). */
  secretPaths: string[];
}

export interface Plan {
  result: PlanResult;
  objects: K8sObject[];
  resources: DeclaredResource[];
}

export function toObjects(resources: DeclaredResource[]): K8sObject[] {
  return resources
    .filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh/") && r.custom)
    .map((r) => ({ ...r.inputs, resource: { name: r.name, type: r.type, urn: r.urn, dependencies: r.dependencies }, secretPaths: r.secretPaths }) as K8sObject);
}

const cache = new Map<string, Promise<Plan>>();

/** The real stack program (AWS foundation + workloads) under mocks, once per stack and overrides. */
export function planStack(stack: string, overrides: Record<string, string> = {}): Promise<Plan> {
  return memo(`real:${stack}:${JSON.stringify(overrides)}`, () => runProgram({ stack, overrides }));
}

/**
 * The workloads alone on a hand-made Foundation (no cloud component): proves the Kubernetes layer
 * needs nothing but the contract, and lets tests choose the foundation's values.
 */
export function planOnFakeFoundation(stack: string, overrides: Record<string, string> = {}, foundation: Partial<FakeFoundationValues> = {}): Promise<Plan> {
  return memo(`fake:${stack}:${JSON.stringify(overrides)}:${JSON.stringify(foundation)}`, () => runProgram({ stack, overrides }, () => fakeProgram(foundation)));
}

export interface FakeFoundationValues {
  host: string;
  port: number;
  username: string;
  password: string;
  sslMode: "require" | "verify-full" | "disable";
  artifactUri: string;
  annotations: Record<string, string>;
  podLabels: Record<string, string>;
  namespace: string;
  /** `artifactStore.volume` (pass `artifactUri: file://<mountPath>` with it, as a foundation would). Default: none. */
  artifactVolume?: ArtifactVolume;
  /** `scheduling.tolerations`. Default: none (the field is absent, as on today's foundations). */
  tolerations?: Toleration[];
  /** Declares a StorageClass the foundation's `storage.dependsOn` holds (what claims must wait for). */
  storageClassResource?: boolean;
  /** `ingress` (what the load balancer needs, DNS-01); `dns01` is built from `dns01Zone` (default: the stack's mlops:ingress.dnsZone). Null: the field is absent. */
  ingress?: Omit<IngressSupport, "dns01"> | null;
  dns01Zone?: string | null;
}

export const FAKE_FOUNDATION: FakeFoundationValues = {
  host: "db.internal.example",
  port: 5432,
  username: "platform_admin",
  password: "Adm1n/p@ss:w%rd?",
  sslMode: "require",
  artifactUri: "gs://example-artifacts/mlflow",
  annotations: { "iam.gke.io/gcp-service-account": "mlflow@example.iam.gserviceaccount.com" },
  podLabels: { "azure.workload.identity/use": "true" },
  namespace: NAMESPACES.platform,
};

function fakeProgram(values: Partial<FakeFoundationValues>) {
  return async () => {
    const { loadConfig } = require("../../../../infra/config") as typeof import("../../../../infra/config");
    const { resolveProfile } = require("../../../../infra/profiles") as typeof import("../../../../infra/profiles");
    const { deployWorkloads } = require("../../../../infra/workloads") as typeof import("../../../../infra/workloads");
    const v = { ...FAKE_FOUNDATION, ...values };
    const config = loadConfig();
    const provider = new k8s.Provider("fake-cluster", { kubeconfig: pulumi.secret("apiVersion: v1\nkind: Config\n") });
    const storageClass = v.storageClassResource
      ? [new k8s.storage.v1.StorageClass("fake-storage-class", { metadata: { name: "fake-default" }, provisioner: "example.com/fake", volumeBindingMode: "WaitForFirstConsumer" }, { provider })]
      : [];
    const foundation: Foundation = {
      cloud: "local",
      kubernetes: provider,
      kubernetesVersion: config.cluster.kubernetesVersion,
      database: {
        host: pulumi.output(v.host),
        port: pulumi.output(v.port),
        username: pulumi.output(v.username),
        password: pulumi.secret(v.password),
        sslMode: v.sslMode,
      },
      artifactStore: { uri: pulumi.output(v.artifactUri), ...(v.artifactVolume ? { volume: v.artifactVolume } : {}) },
      mlflowIdentity: {
        serviceAccountName: "mlflow",
        namespace: v.namespace,
        serviceAccountAnnotations: pulumi.output(v.annotations),
        podLabels: pulumi.output(v.podLabels),
      },
      storage: { className: "fake-default", dependsOn: storageClass },
      resourceMetrics: [],
      ...(v.tolerations ? { scheduling: { tolerations: v.tolerations } } : {}),
      ...fakeIngress(v, config.ingress?.dnsZone?.name),
    };
    return deployWorkloads(foundation, config, resolveProfile(config), config.images.registry ?? "registry.example.com/mlops").outputs as Record<string, unknown>;
  };
}

/** A cloud-like ingress support: annotations per scheme and, for the stack's zone, a DNS-01 solver with a workload identity. */
export const FAKE_INGRESS: Omit<IngressSupport, "dns01"> = {
  exposure: "loadBalancer",
  serviceAnnotations: { public: { "lb.example.com/scheme": "internet-facing" }, internal: { "networking.gke.io/load-balancer-type": "Internal" } },
};

function fakeIngress(v: Partial<FakeFoundationValues>, stackZone: string | undefined): { ingress?: IngressSupport } {
  if (v.ingress === null) return {};
  const zone = v.dns01Zone === undefined ? stackZone : (v.dns01Zone ?? undefined);
  const dns01 = zone
    ? {
        zone,
        solver: pulumi.output("example-zone").apply((zoneId): Record<string, unknown> => ({ cloudDNS: { project: "example-project", hostedZoneName: zoneId } })),
        identity: {
          serviceAccountName: "cert-manager",
          namespace: "cert-manager",
          serviceAccountAnnotations: pulumi.output<Record<string, string>>({ "iam.gke.io/gcp-service-account": "cert-manager@example.iam.gserviceaccount.com" }),
          podLabels: pulumi.output<Record<string, string>>({}),
        },
      }
    : undefined;
  return { ingress: { ...(v.ingress ?? FAKE_INGRESS), ...(dns01 ? { dns01 } : {}) } };
}

function memo(key: string, run: () => Promise<PlanResult>): Promise<Plan> {
  let p = cache.get(key);
  if (!p) {
    p = run().then((result) => ({ result, resources: result.resources, objects: toObjects(result.resources) }));
    cache.set(key, p);
  }
  return p;
}

/** Pod templates of every workload kind, with the object they belong to. */
export function podTemplates(objects: K8sObject[]): { owner: K8sObject; spec: any; labels: Record<string, string> }[] {
  const out: { owner: K8sObject; spec: any; labels: Record<string, string> }[] = [];
  for (const o of objects) {
    if (["Deployment", "StatefulSet", "DaemonSet", "Job"].includes(o.kind)) out.push({ owner: o, spec: o.spec.template.spec, labels: o.spec.template.metadata?.labels ?? {} });
    if (o.kind === "CronJob") out.push({ owner: o, spec: o.spec.jobTemplate.spec.template.spec, labels: o.spec.jobTemplate.spec.template.metadata?.labels ?? {} });
    if (o.kind === "Pod") out.push({ owner: o, spec: o.spec, labels: o.metadata.labels ?? {} });
  }
  return out;
}

export const byKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);
export const named = (objects: K8sObject[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} named ${name} among ${objects.filter((o) => o.kind === kind).map((o) => o.metadata.name).join(", ")}`);
  return found;
};
