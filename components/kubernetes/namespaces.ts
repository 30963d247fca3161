import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { recommendedLabels } from "./labels";

export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

export interface NamespaceArgs {
  name: string;
  /** Pod Security Admission: what the API server refuses. */
  enforce: PodSecurityLevel;
  /** What it warns about and audits (at least as strict as `enforce`). */
  warn: PodSecurityLevel;
  /** The cluster's minor version ("1.33"): the policy version is pinned to it, not to "latest". */
  kubernetesVersion: string;
  extraLabels?: Record<string, string>;
}

export function podSecurityLabels(args: Pick<NamespaceArgs, "enforce" | "warn" | "kubernetesVersion">): Record<string, string> {
  const version = `v${args.kubernetesVersion}`;
  return {
    "pod-security.kubernetes.io/enforce": args.enforce,
    "pod-security.kubernetes.io/enforce-version": version,
    "pod-security.kubernetes.io/warn": args.warn,
    "pod-security.kubernetes.io/warn-version": version,
    "pod-security.kubernetes.io/audit": args.warn,
    "pod-security.kubernetes.io/audit-version": version,
  };
}

export function createNamespace(args: NamespaceArgs, opts: pulumi.CustomResourceOptions): k8s.core.v1.Namespace {
  return new k8s.core.v1.Namespace(
    `ns-${args.name}`,
    {
      metadata: {
        name: args.name,
        labels: {
          ...recommendedLabels({ name: "namespace", instance: args.name, component: "namespace" }),
          ...podSecurityLabels(args),
          ...(args.extraLabels ?? {}),
        },
      },
    },
    opts,
  );
}
