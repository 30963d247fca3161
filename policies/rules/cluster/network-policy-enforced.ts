import * as aws from "@pulumi/aws";
import type { PolicyResource } from "@pulumi/policy";
import { checkEach, peek, stackRule } from "../support/define";
import { cisEks } from "../support/frameworks";
import { referencing } from "../support/references";
import { azure, gcp, K8S } from "../support/types";

interface Params {
  policyEngineCharts: string[];
}

const AKS_POLICY_ENGINES = ["azure", "calico", "cilium"];

function vpcCniEnforces(addon: PolicyResource): boolean {
  if (addon.props.addonName !== "vpc-cni") return false;
  const raw = addon.props.configurationValues;
  let values: any;
  try {
    values = typeof raw === "string" ? JSON.parse(raw) : raw;
  } catch {
    return false;
  }
  return String(values?.enableNetworkPolicy) === "true";
}

export const clusterNetworkPolicyEnforced = stackRule(
  {
    name: "cluster-network-policy-enforced",
    description:
      "The cluster enforces NetworkPolicies; without an enforcing network plugin every NetworkPolicy is silently ignored and every pod can reach every other. EKS runs the VPC CNI add-on with enableNetworkPolicy (or a policy engine such as Cilium or Calico from a Helm chart), GKE enables network policy or Dataplane V2, AKS sets a network policy engine.",
    severity: "high",
    framework: cisEks("4.3.1 Ensure that the CNI in use supports Network Policies; 5.4.4 Ensure Network Policy is Enabled and set as appropriate"),
    clouds: ["aws", "gcp", "azure"],
    enforcementLevel: "mandatory",
    configSchema: { properties: { policyEngineCharts: { type: "array", items: { type: "string" }, default: ["cilium", "tigera-operator", "calico"] } } },
    remediationSteps:
      "EKS: add aws.eks.Addon {addonName: \"vpc-cni\", clusterName, configurationValues: JSON.stringify({enableNetworkPolicy: \"true\"})}. GKE: networkPolicy {enabled: true} or datapathProvider \"ADVANCED_DATAPATH\". AKS: networkProfile.networkPolicy \"azure\", \"calico\" or \"cilium\".",
  },
  (args, report) => {
    const { policyEngineCharts } = args.getConfig<Params>();
    const resources = args.resources;
    const engineChart = resources.find((r) => (r.type === K8S.helmRelease || r.type === K8S.helmChartV4) && policyEngineCharts.includes(String(peek(() => r.props.chart) ?? "").split("/").pop() ?? ""));
    checkEach(resources.filter((r) => r.isType(aws.eks.Cluster)), report, (cluster, reportHere) => {
      if (engineChart) return;
      const addons = referencing(resources, [aws.eks.Addon], "clusterName", cluster, ["name", "id"]);
      if (!addons.some(vpcCniEnforces)) {
        reportHere(`EKS cluster "${cluster.name}" does not enforce NetworkPolicies: add the vpc-cni add-on with configurationValues {"enableNetworkPolicy": "true"} (or a policy engine such as Cilium)`);
      }
    });
    checkEach(resources.filter((r) => r.isType(gcp.gkeCluster)), report, (cluster, reportHere) => {
      if (cluster.props.networkPolicy?.enabled !== true && cluster.props.datapathProvider !== "ADVANCED_DATAPATH") {
        reportHere(`GKE cluster "${cluster.name}" does not enforce NetworkPolicies: set networkPolicy.enabled or datapathProvider "ADVANCED_DATAPATH"`);
      }
    });
    checkEach(resources.filter((r) => r.isType(azure.aksCluster)), report, (cluster, reportHere) => {
      const engine = cluster.props.networkProfile?.networkPolicy;
      if (!AKS_POLICY_ENGINES.includes(engine)) reportHere(`AKS cluster "${cluster.name}" does not enforce NetworkPolicies (networkProfile.networkPolicy ${engine ?? "unset"}): use "azure", "calico" or "cilium"`);
    });
  },
);
