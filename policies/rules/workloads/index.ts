import type { Rule } from "../support/define";
import { workloadsHelmChartPinned } from "./helm-chart-pinned";
import { workloadsImagePinned } from "./image-pinned";
import { workloadsImageProvenance } from "./image-provenance";
import { workloadsNoClusterAdmin } from "./no-cluster-admin";
import { workloadsNoCredentialUrls } from "./no-credential-urls";
import { workloadsNoDefaultNamespace } from "./no-default-namespace";
import { workloadsNoNodePort } from "./no-nodeport";
import { workloadsNoPublicLoadBalancer } from "./no-public-load-balancer";
import { workloadsNoSecretLiterals } from "./no-secret-literals";
import { workloadsNonRoot } from "./non-root";
import { workloadsProbes } from "./probes";
import { workloadsReadOnlyRootFilesystem } from "./read-only-root-filesystem";
import { workloadsReplicasAndPdb } from "./replicas-and-pdb";
import { workloadsResources } from "./resources";
import { workloadsRestrictedPodSecurity } from "./restricted-pod-security";
import { workloadsServiceAccountToken } from "./service-account-token";

export const workloadsRules: Rule[] = [
  workloadsResources,
  workloadsProbes,
  workloadsNonRoot,
  workloadsRestrictedPodSecurity,
  workloadsReadOnlyRootFilesystem,
  workloadsImagePinned,
  workloadsImageProvenance,
  workloadsHelmChartPinned,
  workloadsNoNodePort,
  workloadsNoPublicLoadBalancer,
  workloadsReplicasAndPdb,
  workloadsNoSecretLiterals,
  workloadsNoCredentialUrls,
  workloadsNoClusterAdmin,
  workloadsServiceAccountToken,
  workloadsNoDefaultNamespace,
];
