import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Toleration } from "../contracts";
import { pinnedRelease } from "../kubernetes/helm-release";
import { recommendedLabels } from "../kubernetes/labels";
import { podSecurityLabels } from "../kubernetes/namespaces";

/**
 * What a GPU node pool looks like on every cloud, decided once: the same taint and labels on EKS
 * (Karpenter NodePool), GKE (node pool with guest accelerators) and AKS (N-series agent pool), so one
 * toleration and one node selector put a GPU workload there on any target, and nothing else lands there.
 *
 * A workload that wants a GPU tolerates the taint and requests the resource:
 *
 *   tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]
 *   resources: { limits: { "nvidia.com/gpu": 1 } }
 *   nodeSelector: { "mlops-platform/node-pool": "gpu" }        (optional: the taint already keeps others off)
 */
export const GPU_TAINT = { key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" } as const;

/** The toleration of GPU_TAINT that a GPU workload carries (Exists: whatever value a cloud puts there). */
export const GPU_TOLERATION: Toleration = { key: GPU_TAINT.key, operator: "Exists", effect: GPU_TAINT.effect };

/** `key=value:Effect`, the form AKS (nodeTaints) and kubectl take. */
export const GPU_TAINT_STRING = `${GPU_TAINT.key}=${GPU_TAINT.value}:${GPU_TAINT.effect}`;

/**
 * Labels of every GPU node. `nvidia.com/gpu.present` is also what the NVIDIA device plugin chart's
 * default node affinity selects (without Node Feature Discovery).
 */
export const GPU_NODE_LABELS: Readonly<Record<string, string>> = { "mlops-platform/node-pool": "gpu", "nvidia.com/gpu.present": "true" };

/**
 * The NVIDIA device plugin's official chart, pinned (its version fixes the plugin image). It advertises
 * `nvidia.com/gpu` on GPU nodes where the cloud does not: EKS (the AL2023 NVIDIA AMI ships the driver and
 * the container toolkit, not the plugin) and AKS (which installs the driver). GKE runs its own plugin.
 * Bump here, in review, never to a range.
 */
export const NVIDIA_DEVICE_PLUGIN_CHART = {
  chart: "nvidia-device-plugin",
  version: "0.17.1",
  repo: "https://nvidia.github.io/k8s-device-plugin",
  release: "nvidia-device-plugin",
} as const;

/** Its own namespace: the plugin mounts the kubelet's device-plugin socket directory (hostPath), so Pod Security is `privileged` there and nowhere else. */
export const NVIDIA_DEVICE_PLUGIN_NAMESPACE = "nvidia-device-plugin";

export interface NvidiaDevicePluginArgs {
  kubernetesVersion: string;
  provider: k8s.Provider;
  /** Further taints of the GPU nodes the plugin must tolerate (AKS dev: the spot taint). */
  tolerations?: Toleration[];
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * The device plugin DaemonSet on the GPU nodes only (the chart's default affinity: `nvidia.com/gpu.present`),
 * in a namespace with default-deny NetworkPolicies and no allowed flow: the plugin talks to the kubelet
 * over a Unix socket and needs no network at all.
 */
export class NvidiaDevicePlugin extends pulumi.ComponentResource {
  readonly release: k8s.helm.v3.Release;

  constructor(name: string, args: NvidiaDevicePluginArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:shared:NvidiaDevicePlugin", name, {}, opts);
    const opts_ = { parent: this, provider: args.provider };
    const namespace = new k8s.core.v1.Namespace(
      `${name}-ns`,
      {
        metadata: {
          name: NVIDIA_DEVICE_PLUGIN_NAMESPACE,
          labels: {
            ...recommendedLabels({ name: "namespace", instance: NVIDIA_DEVICE_PLUGIN_NAMESPACE, component: "namespace" }),
            ...podSecurityLabels({ enforce: "privileged", warn: "privileged", kubernetesVersion: args.kubernetesVersion }),
          },
        },
      },
      opts_,
    );
    const denyAll = new k8s.networking.v1.NetworkPolicy(
      `${name}-default-deny`,
      {
        metadata: { name: "default-deny", namespace: namespace.metadata.name, labels: recommendedLabels({ name: "network-policy", instance: NVIDIA_DEVICE_PLUGIN_NAMESPACE, component: "network-policy" }) },
        spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
      },
      opts_,
    );
    this.release = pinnedRelease(
      `${name}-release`,
      {
        pin: NVIDIA_DEVICE_PLUGIN_CHART,
        namespace: namespace.metadata.name,
        createNamespace: false,
        values: {
          // The chart's defaults plus the foundation's own taints of GPU nodes.
          tolerations: [
            { key: "CriticalAddonsOnly", operator: "Exists" },
            { key: GPU_TAINT.key, operator: "Exists", effect: "NoSchedule" },
            ...(args.tolerations ?? []),
          ],
        },
      },
      { ...opts_, dependsOn: [denyAll, ...(args.dependsOn ?? [])] },
    );
    this.registerOutputs({});
  }
}
