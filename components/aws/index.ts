import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Foundation, FoundationComponent, FoundationOutputs, Tags } from "../contracts";
import { serviceAccountIdentity } from "../shared/workload-identity";
import { ArtifactStore, type ArtifactStoreArgs } from "./artifact-store";
import { Cluster, type ClusterArgs } from "./cluster";
import { Database, type DatabaseArgs } from "./database";
import { prefixAccessPolicy, ServiceAccountRole } from "./identity";
import { createKmsKey, logsKeyPolicy } from "./kms";
import { Network, type NetworkArgs } from "./network";
import { ImageRegistry, type ImageRegistryArgs } from "./registry";

export interface AwsFoundationArgs {
  clusterName: string;
  network: Omit<NetworkArgs, "clusterName" | "tags" | "logRetentionDays" | "logsKmsKeyArn">;
  cluster: Omit<ClusterArgs, "clusterName" | "vpcId" | "privateSubnetIds" | "tags" | "logRetentionDays" | "logsKmsKeyArn">;
  database: Omit<DatabaseArgs, "vpcId" | "databaseSubnetIds" | "clientSecurityGroupId" | "tags" | "logRetentionDays" | "logsKmsKeyArn">;
  artifactStore: Omit<ArtifactStoreArgs, "tags">;
  imageRegistry: Omit<ImageRegistryArgs, "tags" | "kmsKeyArn">;
  /** The Kubernetes service account MLflow runs as; the IRSA role trusts exactly this one. */
  mlflowServiceAccount: { namespace: string; name: string };
  logRetentionDays: number;
  tags: Tags;
}

/** The AWS foundation: network, EKS, RDS, S3 and IRSA, ending in the cloud-neutral Foundation. */
export class AwsFoundation extends pulumi.ComponentResource implements FoundationComponent {
  readonly foundation: Foundation;
  readonly outputs: FoundationOutputs;
  readonly imageRegistry: ImageRegistry;
  readonly network: Network;
  readonly cluster: Cluster;
  readonly database: Database;
  readonly artifactStore: ArtifactStore;
  readonly mlflowRoleArn: pulumi.Output<string>;
  readonly region: pulumi.Output<string>;

  constructor(name: string, args: AwsFoundationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:aws:Foundation", name, {}, opts);
    const parent = { parent: this };
    const logsKey = createKmsKey(`${name}-logs`, "Encryption of the platform's CloudWatch log groups", args.tags, parent, logsKeyPolicy(parent));
    const logs = { logRetentionDays: args.logRetentionDays, logsKmsKeyArn: logsKey.arn };

    this.network = new Network(`${name}-network`, { ...args.network, ...logs, clusterName: args.clusterName, tags: args.tags }, parent);
    this.cluster = new Cluster(
      `${name}-cluster`,
      { ...args.cluster, ...logs, clusterName: args.clusterName, vpcId: this.network.vpcId, privateSubnetIds: this.network.privateSubnetIds, tags: args.tags },
      parent,
    );
    this.database = new Database(
      `${name}-db`,
      { ...args.database, ...logs, vpcId: this.network.vpcId, databaseSubnetIds: this.network.databaseSubnetIds, clientSecurityGroupId: this.cluster.securityGroupId, tags: args.tags },
      parent,
    );
    this.artifactStore = new ArtifactStore(`${name}-artifacts`, { ...args.artifactStore, tags: args.tags }, parent);
    const registryKey = createKmsKey(`${name}-ecr`, "Encryption of the platform's container images", args.tags, parent);
    this.imageRegistry = new ImageRegistry(`${name}-images`, { ...args.imageRegistry, kmsKeyArn: registryKey.arn, tags: args.tags }, parent);
    this.region = aws.getRegionOutput({}, parent).region;
    const mlflowRole = new ServiceAccountRole(
      `${name}-mlflow-irsa`,
      {
        oidcProviderArn: this.cluster.oidcProviderArn,
        oidcIssuer: this.cluster.oidcIssuer,
        namespace: args.mlflowServiceAccount.namespace,
        serviceAccountName: args.mlflowServiceAccount.name,
        policy: pulumi
          .all([this.artifactStore.bucket.arn, this.artifactStore.kmsKey.arn, this.region])
          .apply(([bucketArn, keyArn, region]) => prefixAccessPolicy(bucketArn, args.artifactStore.prefix, keyArn, region)),
        tags: args.tags,
      },
      parent,
    );
    this.mlflowRoleArn = mlflowRole.roleArn;

    this.foundation = {
      cloud: "aws",
      kubernetes: this.cluster.provider,
      kubernetesVersion: args.cluster.kubernetesVersion,
      database: this.database.endpoint,
      artifactStore: { uri: this.artifactStore.uri },
      mlflowIdentity: serviceAccountIdentity(
        args.mlflowServiceAccount,
        this.mlflowRoleArn.apply((arn): Record<string, string> => ({ "eks.amazonaws.com/role-arn": arn })),
      ),
      storage: { className: this.cluster.storageClassName, dependsOn: [this.cluster.storageClass] },
      resourceMetrics: [this.cluster.metricsServer],
    };
    this.outputs = {
      clusterName: this.cluster.name,
      kubeconfig: this.cluster.kubeconfig,
      databaseEndpoint: pulumi.interpolate`${this.database.instance.address}:${this.database.instance.port}`,
      artifactStoreUri: this.artifactStore.uri,
      region: this.region,
      imageRegistry: this.imageRegistry.url,
      mlflowIdentity: this.mlflowRoleArn,
    };
    this.registerOutputs({ clusterName: this.cluster.name, mlflowRoleArn: this.mlflowRoleArn });
  }
}
