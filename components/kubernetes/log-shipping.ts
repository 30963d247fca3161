import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { LogShipping, WorkloadIdentity } from "../contracts";
import { PORTS } from "./constants";
import { pinnedRelease } from "./helm-release";
import { createNamespace } from "./namespaces";
import { NetworkPolicies, type Flow, type Peer } from "./network-policies";
import type { ResourceSpec } from "./pod";

/**
 * The pinned aws-for-fluent-bit chart (aws/eks-charts): Fluent Bit with AWS's `cloudwatch_logs`
 * output, as a DaemonSet. Bump here, read the chart's changes (the 0.2 line moves to Fluent Bit 3.x
 * and may rename values), and run the tests.
 */
export const AWS_FOR_FLUENT_BIT_CHART = {
  chart: "aws-for-fluent-bit",
  version: "0.1.35",
  repo: "https://aws.github.io/eks-charts",
  release: "fluent-bit",
} as const;

export interface LogShipperArgs {
  /** The foundation's `logs` of kind `cloudwatch` (the other kinds need nothing in the cluster). */
  logs: Extract<LogShipping, { kind: "cloudwatch" }>;
  kubernetesVersion: string;
  resources?: ResourceSpec;
}

const DEFAULT_RESOURCES: ResourceSpec = { cpuRequest: "50m", memoryRequest: "64Mi", cpuLimit: "500m", memoryLimit: "256Mi" };

/**
 * Fluent Bit on every node, tailing every container's log file into the foundation's CloudWatch log
 * group through workload identity (IRSA), in its own namespace with default-deny policies and only
 * DNS and HTTPS out. Only for `logs.kind === "cloudwatch"` (EKS): GKE and AKS ship container logs
 * with their own agents, a local cluster keeps them on stdout (`logShipperNeeded`).
 */
export class LogShipper extends pulumi.ComponentResource {
  readonly release: k8s.helm.v3.Release;

  constructor(name: string, args: LogShipperArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:kubernetes:LogShipper", name, {}, opts);
    const parent = { parent: this };
    const ns = args.logs.identity.namespace;
    // Fluent Bit reads the node's /var/log through a hostPath (and keeps its read offsets there).
    const namespace = createNamespace({ name: ns, enforce: "privileged", warn: "restricted", kubernetesVersion: args.kubernetesVersion }, parent);
    const policies = new NetworkPolicies(`${name}-policies`, { namespace: namespace.metadata.name, namespaceName: ns, flows: logShipperFlows(ns) }, parent);
    this.release = pinnedRelease(
      `${name}-release`,
      { pin: AWS_FOR_FLUENT_BIT_CHART, namespace: namespace.metadata.name, values: fluentBitValues(args.logs, args.resources ?? DEFAULT_RESOURCES) },
      { ...parent, dependsOn: [namespace, ...policies.policies] },
    );
    this.registerOutputs({});
  }
}

/** Whether the foundation's logs need a shipper in the cluster. */
export function logShipperNeeded(logs: LogShipping | undefined): logs is Extract<LogShipping, { kind: "cloudwatch" }> {
  return logs?.kind === "cloudwatch";
}

/** Every pod of the shipper's namespace: DNS, and HTTPS to CloudWatch Logs, STS and the Kubernetes API (pod metadata). */
export function logShipperFlows(namespace: string): Flow[] {
  const all: Peer = { kind: "pods", name: "all-pods", namespace, selector: {} };
  const dns: Peer = { kind: "pods", name: "kube-dns", namespace: "kube-system", selector: { "k8s-app": "kube-dns" } };
  return [
    { from: all, to: dns, ports: [{ port: PORTS.dns, protocol: "UDP" }, { port: PORTS.dns, protocol: "TCP" }], why: "name resolution" },
    { from: all, to: { kind: "anywhere", name: "anywhere" }, ports: [{ port: PORTS.https }], why: "CloudWatch Logs, STS, the Kubernetes API" },
  ];
}

/** The chart's values: the `cloudwatch_logs` output into the existing group, every other output off. */
export function fluentBitValues(logs: Extract<LogShipping, { kind: "cloudwatch" }>, r: ResourceSpec): Record<string, unknown> {
  const identity: WorkloadIdentity = logs.identity;
  return {
    fullnameOverride: "fluent-bit",
    serviceAccount: { create: true, name: identity.serviceAccountName, annotations: identity.serviceAccountAnnotations },
    cloudWatch: { enabled: false },
    cloudWatchLogs: {
      enabled: true,
      region: logs.region,
      logGroupName: logs.logGroupName,
      logStreamPrefix: "pod-",
      // The group exists with its retention and KMS key; the role may not create groups.
      autoCreateGroup: false,
    },
    firehose: { enabled: false },
    kinesis: { enabled: false },
    kinesis_streams: { enabled: false },
    elasticsearch: { enabled: false },
    s3: { enabled: false },
    opensearch: { enabled: false },
    resources: { requests: { cpu: r.cpuRequest, memory: r.memoryRequest }, limits: { cpu: r.cpuLimit, memory: r.memoryLimit } },
    // Every node, tainted ones included (GPU pools, system nodes): their pods log too.
    tolerations: [{ operator: "Exists" }],
  };
}

