import type { Rule } from "../support/define";
import { clusterAuditLogs } from "./audit-logs";
import { clusterDefaultDeny } from "./default-deny";
import { clusterGpuPoolsTainted } from "./gpu-pools-tainted";
import { clusterKubernetesVersion } from "./kubernetes-version";
import { clusterNetworkPolicyEnforced } from "./network-policy-enforced";
import { clusterNoPublicApi } from "./no-public-api";
import { clusterNodeMetadata } from "./node-metadata";
import { clusterPrivateNodes } from "./private-nodes";
import { clusterSecretsEncryption } from "./secrets-encryption";

export const clusterRules: Rule[] = [
  clusterNoPublicApi,
  clusterSecretsEncryption,
  clusterAuditLogs,
  clusterNetworkPolicyEnforced,
  clusterDefaultDeny,
  clusterPrivateNodes,
  clusterNodeMetadata,
  clusterKubernetesVersion,
  clusterGpuPoolsTainted,
];
