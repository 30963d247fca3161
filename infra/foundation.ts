import * as pulumi from "@pulumi/pulumi";
import { AwsFoundation, deployingPrincipalArn } from "../components/aws";
import type { Foundation } from "../components/contracts";
import type { PlatformConfig } from "./config";
import type { EnvironmentProfile } from "./profiles";

/** Where MLflow runs: the cloud's workload identity trusts exactly this service account. */
export const MLFLOW_SERVICE_ACCOUNT = { namespace: "mlops", name: "mlflow" };

export interface FoundationResult {
  foundation: Foundation;
  /** Stack outputs: clusterName, kubeconfig (secret), databaseEndpoint, artifactBucketUri, region, mlflowRoleArn. */
  outputs: Record<string, pulumi.Input<unknown>>;
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
  // Whoever runs `pulumi up` deploys the workloads through the cluster's API, so it is an admin too.
  const deployer = await deployingPrincipalArn();
  const aws = new AwsFoundation(name, {
    clusterName: name,
    network: { vpcCidr: config.network.vpcCidr, availabilityZoneCount: config.network.availabilityZoneCount, ...profile.network },
    cluster: {
      kubernetesVersion: config.cluster.kubernetesVersion,
      publicAccessCidrs: config.cluster.publicAccessCidrs,
      adminPrincipalArns: [...new Set([deployer, ...config.cluster.adminPrincipalArns])],
      nodeGroup: { capacityType: profile.cluster.capacityType, instanceTypes: profile.cluster.instanceTypes, ...profile.cluster.nodeCount, diskSizeGb: profile.cluster.nodeDiskGb },
    },
    database: { engineVersion: config.database.engineVersion, ...profile.database },
    artifactStore: { prefix: config.artifactStore.prefix, ...profile.artifactStore },
    mlflowServiceAccount: MLFLOW_SERVICE_ACCOUNT,
    logRetentionDays: profile.logRetentionDays,
    tags,
  });
  return {
    foundation: aws.foundation,
    outputs: {
      clusterName: aws.cluster.name,
      kubeconfig: aws.cluster.kubeconfig,
      databaseEndpoint: pulumi.interpolate`${aws.database.instance.address}:${aws.database.instance.port}`,
      artifactBucketUri: aws.artifactStore.uri,
      region: aws.region,
      mlflowRoleArn: aws.mlflowRoleArn,
    },
  };
}
