import * as pulumi from "@pulumi/pulumi";
import { AwsFoundation } from "../components/aws";
import type { Foundation, FoundationOutputs } from "../components/contracts";
import { IMAGE_NAMES, type PlatformConfig } from "./config";
import type { EnvironmentProfile } from "./profiles";

/** Where MLflow runs: the cloud's workload identity trusts exactly this service account. */
export const MLFLOW_SERVICE_ACCOUNT = { namespace: "mlops", name: "mlflow" };

export interface FoundationResult {
  foundation: Foundation;
  /** Stack outputs, the same names on every cloud (FoundationOutputs). */
  outputs: Record<keyof FoundationOutputs, pulumi.Input<unknown>>;
}

/**
 * Builds the Foundation of the stack's cloud from the config and the environment profile. One case
 * per cloud: each maps the cloud-neutral config and profile onto its own components' explicit args.
 */
export async function buildFoundation(config: PlatformConfig, profile: EnvironmentProfile, tags: Record<string, string>): Promise<FoundationResult> {
  switch (config.cloud) {
    case "aws":
      return buildAws(config, profile, tags);
  }
}

async function buildAws(config: PlatformConfig, profile: EnvironmentProfile, tags: Record<string, string>): Promise<FoundationResult> {
  const name = `mlops-${config.environment}`;
  const aws = new AwsFoundation(name, {
    clusterName: name,
    network: { vpcCidr: config.network.vpcCidr, availabilityZoneCount: config.network.availabilityZoneCount, ...profile.network },
    cluster: {
      kubernetesVersion: config.cluster.kubernetesVersion,
      endpointPublicAccess: config.cluster.endpointPublicAccess,
      publicAccessCidrs: config.cluster.publicAccessCidrs,
      privateAccessCidrs: config.cluster.privateAccessCidrs,
      adminPrincipalArns: config.cluster.adminPrincipalArns,
      viewerPrincipalArns: config.cluster.viewerPrincipalArns,
      awsProfile: new pulumi.Config("aws").get("profile"),
      nodeGroup: { capacityType: profile.cluster.capacityType, instanceTypes: profile.cluster.instanceTypes, ...profile.cluster.nodeCount, diskSizeGb: profile.cluster.nodeDiskGb },
    },
    database: { engineVersion: config.database.engineVersion, ...profile.database },
    artifactStore: { prefix: config.artifactStore.prefix, ...profile.artifactStore },
    imageRegistry: { prefix: "mlops", images: IMAGE_NAMES, untaggedExpiryDays: 14, forceDelete: profile.artifactStore.forceDestroy },
    mlflowServiceAccount: MLFLOW_SERVICE_ACCOUNT,
    logRetentionDays: profile.logRetentionDays,
    tags,
  });
  return { foundation: aws.foundation, outputs: { ...aws.outputs } };
}
