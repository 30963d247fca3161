import * as aws from "@pulumi/aws";
import { validateResourceOfType } from "@pulumi/policy";
import { resourceRule } from "../support/define";
import { platform } from "../support/frameworks";
import { azure, gcp } from "../support/types";

interface Params {
  minimumVersion: string;
}

/** "1.33" or "1.33.2-gke.100" -> [1, 33]. */
function minor(version: string): [number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

function check(label: string, version: string | undefined, property: string, minimum: string, report: (m: string) => void): void {
  if (!version) {
    report(`${label} does not pin a Kubernetes version: set ${property}, so upgrades happen in review, not at creation time`);
    return;
  }
  const have = minor(version);
  const need = minor(minimum);
  if (!have || !need) {
    report(`${label} has an unreadable Kubernetes version "${version}"`);
    return;
  }
  if (have[0] < need[0] || (have[0] === need[0] && have[1] < need[1])) {
    report(`${label} runs Kubernetes ${version}, older than the supported minimum ${minimum}: upgrade before standard support ends (extended support costs more and gets fewer fixes)`);
  }
}

export const clusterKubernetesVersion = resourceRule(
  {
    name: "cluster-kubernetes-version",
    description:
      "Every cluster pins its Kubernetes version, and the version is at least minimumVersion, so clusters are upgraded in review before their minor version leaves standard support (EKS charges extended support, GKE and AKS force upgrades).",
    severity: "medium",
    framework: platform("Supported Kubernetes versions"),
    clouds: ["aws", "gcp", "azure"],
    enforcementLevel: "advisory",
    configSchema: { properties: { minimumVersion: { type: "string", pattern: "^\\d+\\.\\d+$", default: "1.31" } } },
    remediationSteps: "Set the version (EKS version, GKE minMasterVersion, AKS kubernetesVersion) to a supported minor and raise it one minor at a time.",
  },
  [
    validateResourceOfType(aws.eks.Cluster, (cluster, args, report) => check(`EKS cluster "${args.name}"`, cluster.version, "version", args.getConfig<Params>().minimumVersion, report)),
    validateResourceOfType(gcp.gkeCluster, (cluster, args, report) => {
      // A release channel keeps GKE clusters on supported versions by itself.
      if (cluster.releaseChannel?.channel && cluster.releaseChannel.channel !== "UNSPECIFIED" && !cluster.minMasterVersion) return;
      check(`GKE cluster "${args.name}"`, cluster.minMasterVersion, "minMasterVersion (or a release channel)", args.getConfig<Params>().minimumVersion, report);
    }),
    validateResourceOfType(azure.aksCluster, (cluster, args, report) => check(`AKS cluster "${args.name}"`, cluster.kubernetesVersion, "kubernetesVersion", args.getConfig<Params>().minimumVersion, report)),
  ],
);
