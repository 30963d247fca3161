import * as aws from "@pulumi/aws";
import type { PolicyResource } from "@pulumi/policy";
import { checkEach, stackRule } from "../support/define";
import { platform } from "../support/frameworks";
import { referencedBy } from "../support/references";
import { gcp } from "../support/types";

function imdsProblems(template: PolicyResource): string[] {
  const options = template.props.metadataOptions ?? {};
  const problems: string[] = [];
  if (options.httpEndpoint === "disabled") return problems;
  if (options.httpTokens !== "required") problems.push(`launch template "${template.name}" allows IMDSv1: set metadataOptions.httpTokens "required"`);
  // Unset, the AMI decides: AL2023 and Bottlerocket AMIs default to a hop limit of 2.
  const hops = options.httpPutResponseHopLimit;
  if (hops === undefined || Number(hops) > 1) problems.push(`launch template "${template.name}" lets pods reach the instance metadata (hop limit ${hops ?? "unset, 2 on EKS AMIs"}): set metadataOptions.httpPutResponseHopLimit 1`);
  return problems;
}

export const clusterNodeMetadata = stackRule(
  {
    name: "cluster-node-metadata",
    description:
      "Pods cannot read the node's cloud credentials from the instance metadata service; they use workload identity instead. EKS nodes come from a launch template requiring IMDSv2 with a hop limit of 1 (a node group without one gets EKS's default template, hop limit 2); GKE node pools use the GKE metadata server (workload identity).",
    severity: "high",
    framework: platform("Workload identity instead of node credentials (AWS IMDSv2 hop limit 1; GKE metadata server)"),
    clouds: ["aws", "gcp"],
    enforcementLevel: "mandatory",
    remediationSteps:
      "EKS: give every node group an aws.ec2.LaunchTemplate with metadataOptions {httpTokens: \"required\", httpPutResponseHopLimit: 1}. GKE: nodeConfig.workloadMetadataConfig.mode \"GKE_METADATA\" on the cluster's and every node pool's nodes.",
  },
  (args, report) => {
    const resources = args.resources;
    const checked = new Set<string>();
    checkEach(resources.filter((r) => r.isType(aws.eks.NodeGroup)), report, (group, reportHere) => {
      const templates = referencedBy(resources, group, "launchTemplate", [aws.ec2.LaunchTemplate], ["id"]);
      if (templates.length === 0) {
        reportHere(`node group "${group.name}" has no launch template of this stack: EKS's default one leaves the metadata hop limit at 2, so pods can use the node role`);
        return;
      }
      for (const template of templates) {
        checked.add(template.urn);
        for (const problem of imdsProblems(template)) reportHere(problem);
      }
    });
    // Templates for other instances (bastions, self-managed nodes) follow the same rule.
    checkEach(resources.filter((r) => r.isType(aws.ec2.LaunchTemplate) && !checked.has(r.urn)), report, (template, reportHere) => {
      for (const problem of imdsProblems(template)) reportHere(problem);
    });
    checkEach(resources.filter((r) => r.isType(gcp.gkeCluster) || r.isType(gcp.gkeNodePool)), report, (r, reportHere) => {
      const nodeConfig = r.props.nodeConfig;
      if (r.isType(gcp.gkeCluster) && (r.props.removeDefaultNodePool === true || !nodeConfig)) return;
      if (nodeConfig?.workloadMetadataConfig?.mode !== "GKE_METADATA") reportHere(`GKE ${r.isType(gcp.gkeCluster) ? "cluster" : "node pool"} "${r.name}" exposes the node's metadata to pods: set nodeConfig.workloadMetadataConfig.mode "GKE_METADATA"`);
    });
  },
);
