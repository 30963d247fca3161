import * as aws from "@pulumi/aws";
import type { PolicyResource } from "@pulumi/policy";
import { checkEach, peek, stackRule } from "../support/define";
import { cisEks } from "../support/frameworks";
import { referencedBy } from "../support/references";
import { azure, gcp } from "../support/types";

/** The subnets a node group names that this stack declares, and how many it names in all. */
function subnetsOf(resources: PolicyResource[], group: PolicyResource): { found: PolicyResource[]; named: number } {
  const found = referencedBy(resources, group, "subnetIds", [aws.ec2.Subnet], ["id"]);
  const deps = group.propertyDependencies?.subnetIds ?? [];
  const named = deps.length ? deps.length : (peek(() => group.props.subnetIds) ?? []).length;
  return { found, named };
}

export const clusterPrivateNodes = stackRule(
  {
    name: "cluster-private-nodes",
    description:
      "Worker nodes have no public IP addresses, so they are reachable only through the VPC and leave through NAT. EKS node groups run in subnets that do not assign public IPs and their launch templates add none; GKE clusters and node pools use private nodes; AKS node pools do not request node public IPs.",
    severity: "high",
    framework: cisEks("5.4.3 Ensure clusters are created with Private Nodes"),
    clouds: ["aws", "gcp", "azure"],
    enforcementLevel: "mandatory",
    remediationSteps:
      "EKS: put node groups in private subnets (mapPublicIpOnLaunch false, default route through NAT) and do not set associatePublicIpAddress in the launch template. GKE: privateClusterConfig.enablePrivateNodes true. AKS: enableNodePublicIP false on every agent pool.",
  },
  (args, report) => {
    const resources = args.resources;
    checkEach(resources.filter((r) => r.isType(aws.eks.NodeGroup)), report, (group, reportHere) => {
      const { found, named } = subnetsOf(resources, group);
      for (const subnet of found) {
        if (subnet.props.mapPublicIpOnLaunch === true) reportHere(`node group "${group.name}" runs in subnet "${subnet.name}", which gives instances public IPs`);
      }
      if (found.length < named) reportHere(`node group "${group.name}" names ${named - found.length} subnet(s) this stack does not declare: whether they assign public IPs cannot be verified`);
      for (const template of referencedBy(resources, group, "launchTemplate", [aws.ec2.LaunchTemplate], ["id"])) {
        const nics: any[] = template.props.networkInterfaces ?? [];
        if (nics.some((n) => String(n.associatePublicIpAddress) === "true")) reportHere(`launch template "${template.name}" of node group "${group.name}" gives nodes public IPs (associatePublicIpAddress)`);
      }
    });
    checkEach(resources.filter((r) => r.isType(gcp.gkeCluster)), report, (cluster, reportHere) => {
      if (cluster.props.privateClusterConfig?.enablePrivateNodes !== true) reportHere(`GKE cluster "${cluster.name}" has public nodes: set privateClusterConfig.enablePrivateNodes true`);
    });
    checkEach(resources.filter((r) => r.isType(gcp.gkeNodePool)), report, (pool, reportHere) => {
      if (pool.props.networkConfig?.enablePrivateNodes === false) reportHere(`GKE node pool "${pool.name}" turns private nodes off`);
    });
    checkEach(resources.filter((r) => r.isType(azure.aksCluster)), report, (cluster, reportHere) => {
      const open = (cluster.props.agentPoolProfiles ?? []).filter((p: any) => p.enableNodePublicIP === true);
      if (open.length) reportHere(`AKS cluster "${cluster.name}" gives public IPs to the nodes of pool(s) ${open.map((p: any) => p.name).join(", ")}`);
    });
    checkEach(resources.filter((r) => r.isType(azure.aksAgentPool)), report, (pool, reportHere) => {
      if (pool.props.enableNodePublicIP === true) reportHere(`AKS agent pool "${pool.name}" gives its nodes public IPs`);
    });
  },
);
