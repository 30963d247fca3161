import * as aws from "@pulumi/aws";
import { validateResourceOfType } from "@pulumi/policy";
import { resourceRule } from "../support/define";
import { cisEks } from "../support/frameworks";
import { isAnyAddress, outside } from "../support/cidr";
import { azure, gcp } from "../support/types";

interface Params {
  allowedCidrs: string[];
}

/** The problems of a public endpoint admitting `cidrs` (undefined: the provider's default, the whole internet). */
function problems(label: string, cidrs: string[] | undefined, allowedCidrs: string[]): string[] {
  if (!cidrs || cidrs.length === 0) return [`${label}'s public endpoint admits every address (no CIDR list): list the CIDRs of your offices or VPN, or make the endpoint private`];
  const open = cidrs.filter(isAnyAddress);
  if (open.length) return [`${label}'s public endpoint is open to ${open.join(", ")}: list the CIDRs of your offices or VPN, or make the endpoint private`];
  const stray = allowedCidrs.length ? outside(cidrs, allowedCidrs) : [];
  return stray.length ? [`${label}'s public endpoint admits ${stray.join(", ")}, outside the allow-list ${allowedCidrs.join(", ")}`] : [];
}

export const clusterNoPublicApi = resourceRule(
  {
    name: "cluster-no-public-api",
    description:
      "The Kubernetes API endpoint is never open to the whole internet. A private endpoint passes; a public one must list the networks allowed to reach it, never 0.0.0.0/0 or ::/0, and with the allowedCidrs parameter every listed block must lie inside the allow-list. EKS defaults a public endpoint to 0.0.0.0/0, GKE without a masterAuthorizedNetworksConfig block and AKS without authorized IP ranges admit everyone; a GKE block with no cidrBlocks admits no external address.",
    severity: "critical",
    framework: cisEks("5.4.1 Restrict Access to the Control Plane Endpoint (GKE: master authorized networks; AKS: API server authorized IP ranges)"),
    clouds: ["aws", "gcp", "azure"],
    enforcementLevel: "mandatory",
    configSchema: { properties: { allowedCidrs: { type: "array", items: { type: "string" }, default: [] } } },
    remediationSteps:
      "EKS: vpcConfig.endpointPublicAccess false, or publicAccessCidrs listing only your networks. GKE: privateClusterConfig.enablePrivateEndpoint, or a masterAuthorizedNetworksConfig block whose cidrBlocks list only your networks (or none: no external access). AKS: apiServerAccessProfile.enablePrivateCluster or authorizedIPRanges.",
  },
  [
    validateResourceOfType(aws.eks.Cluster, (cluster, args, report) => {
      const vpc = cluster.vpcConfig;
      if (vpc?.endpointPublicAccess === false) return;
      for (const p of problems(`EKS cluster "${args.name}"`, vpc?.publicAccessCidrs as string[] | undefined, args.getConfig<Params>().allowedCidrs)) report(p);
    }),
    validateResourceOfType(gcp.gkeCluster, (cluster, args, report) => {
      if (cluster.privateClusterConfig?.enablePrivateEndpoint === true) return;
      const networks = cluster.masterAuthorizedNetworksConfig;
      const label = `GKE cluster "${args.name}"`;
      if (networks?.gcpPublicCidrsAccessEnabled === true) report(`${label} admits every Google Cloud public IP address: set masterAuthorizedNetworksConfig.gcpPublicCidrsAccessEnabled false`);
      // Without the block, GKE admits every address. With it, authorized networks are enforced and an
      // empty (or omitted) cidrBlocks list admits nothing beyond Google's and the VPC's own addresses
      // (@pulumi/gcp: "Omit the nested cidrBlocks attribute to disallow external access").
      if (!networks) {
        for (const p of problems(label, undefined, [])) report(p);
        return;
      }
      const cidrs: string[] = (networks.cidrBlocks ?? []).map((b: { cidrBlock: string }) => b.cidrBlock);
      if (cidrs.length === 0) return;
      for (const p of problems(label, cidrs, args.getConfig<Params>().allowedCidrs)) report(p);
    }),
    validateResourceOfType(azure.aksCluster, (cluster, args, report) => {
      const access = cluster.apiServerAccessProfile;
      if (access?.enablePrivateCluster === true) return;
      for (const p of problems(`AKS cluster "${args.name}"`, access?.authorizedIPRanges, args.getConfig<Params>().allowedCidrs)) report(p);
    }),
  ],
);
