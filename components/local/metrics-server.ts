import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { pinnedRelease } from "../kubernetes/helm-release";
import { createNamespace } from "../kubernetes/namespaces";
import { NetworkPolicies } from "../kubernetes/network-policies";

/**
 * metrics-server's official chart, pinned (the chart version fixes the image: 3.12.2 runs
 * registry.k8s.io/metrics-server/metrics-server:v0.7.2). Bump it in review, never to a range.
 */
export const METRICS_SERVER_CHART = {
  chart: "metrics-server",
  version: "3.12.2",
  repo: "https://kubernetes-sigs.github.io/metrics-server/",
  release: "metrics-server",
} as const;

/** Its own namespace: restricted Pod Security, default-deny with exactly the flows it needs. */
export const METRICS_SERVER_NAMESPACE = "metrics-server";

/** The chart serves the metrics API on this container port (values `containerPort`). */
const METRICS_SERVER_PORT = 10250;

export interface MetricsServerArgs {
  kubernetesVersion: string;
  labels: Record<string, string>;
}

/**
 * metrics-server for clusters that do not ship one (kind): the resource metrics API the platform's
 * HorizontalPodAutoscalers read. k3d (k3s) and minikube's addon have their own; installing a second
 * one would fight over the v1beta1.metrics.k8s.io APIService.
 */
export class MetricsServer extends pulumi.ComponentResource {
  readonly release: k8s.helm.v3.Release;

  constructor(name: string, args: MetricsServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:local:MetricsServer", name, {}, opts);
    const parent = { parent: this };
    const namespace = createNamespace(
      { name: METRICS_SERVER_NAMESPACE, enforce: "restricted", warn: "restricted", kubernetesVersion: args.kubernetesVersion, extraLabels: args.labels },
      parent,
    );
    const pods = { kind: "pods" as const, name: "metrics-server", namespace: METRICS_SERVER_NAMESPACE, selector: { "app.kubernetes.io/name": "metrics-server" } };
    const anywhere = { kind: "anywhere" as const, name: "anywhere" };
    const policies = new NetworkPolicies(
      `${name}-policies`,
      {
        namespace: namespace.metadata.name,
        namespaceName: METRICS_SERVER_NAMESPACE,
        // The API server (on the node's network) calls the aggregated API; metrics-server scrapes the
        // kubelets on node addresses and reads nodes from the API server. It resolves no names.
        flows: [
          { from: anywhere, to: pods, ports: [{ port: METRICS_SERVER_PORT }], why: "the API server proxies the metrics API" },
          { from: pods, to: anywhere, ports: [{ port: 10250 }], why: "kubelets' /metrics/resource on node addresses" },
          { from: pods, to: anywhere, ports: [{ port: 443 }, { port: 6443 }], why: "the Kubernetes API (Service address and the API server's own port)" },
        ],
      },
      parent,
    );

    this.release = pinnedRelease(
      `${name}-release`,
      {
        pin: METRICS_SERVER_CHART,
        namespace: namespace.metadata.name,
        createNamespace: false,
        timeout: 300,
        values: {
          containerPort: METRICS_SERVER_PORT,
          // kind's kubelets serve a self-signed certificate (no cluster CA signs it, and it names no
          // node IP), so metrics-server cannot verify it. Local clusters only: on a cloud the kubelet
          // certificates are signed and this flag must not be used.
          args: ["--kubelet-insecure-tls"],
          commonLabels: args.labels,
        },
      },
      { ...parent, dependsOn: [policies] },
    );
    this.registerOutputs({});
  }
}
