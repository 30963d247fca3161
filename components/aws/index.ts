import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Foundation, FoundationComponent, FoundationOutputs, Tags } from "../contracts";
import { serviceAccountIdentity } from "../shared/workload-identity";
import { ArtifactStore, type ArtifactStoreArgs } from "./artifact-store";
import { BackupStore, type BackupStoreArgs } from "./backup-store";
import { Cluster, type ClusterArgs } from "./cluster";
import { Database, type DatabaseArgs } from "./database";
import { awsIngressSupport, type CertManagerDns } from "./dns";
import { prefixAccessPolicy, ServiceAccountRole } from "./identity";
import { Karpenter, type KarpenterArgs } from "./karpenter";
import { createKmsKey, logsKeyPolicy } from "./kms";
import { ClusterLogs } from "./logs";
import { Network, type NetworkArgs } from "./network";
import { ImageRegistry, type ImageRegistryArgs } from "./registry";

export interface AwsFoundationArgs {
  clusterName: string;
  network: Omit<NetworkArgs, "clusterName" | "tags" | "logRetentionDays" | "logsKmsKeyArn">;
  cluster: Omit<ClusterArgs, "clusterName" | "vpcId" | "privateSubnetIds" | "tags" | "logRetentionDays" | "logsKmsKeyArn">;
  database: Omit<DatabaseArgs, "vpcId" | "databaseSubnetIds" | "clientSecurityGroupId" | "tags" | "logRetentionDays" | "logsKmsKeyArn">;
  artifactStore: Omit<ArtifactStoreArgs, "tags">;
  imageRegistry: Omit<ImageRegistryArgs, "tags" | "kmsKeyArn">;
  /** Node autoscaling (Karpenter): its controller, its NodePools (the profile's capacity type and limits), an optional GPU pool. */
  autoscaling: Omit<KarpenterArgs, "clusterName" | "kubernetesVersion" | "cluster" | "tags">;
  /** The Kubernetes service account MLflow runs as; the IRSA role trusts exactly this one. */
  mlflowServiceAccount: { namespace: string; name: string };
  /** The Route53 zone cert-manager answers ACME DNS-01 challenges in (an IRSA role for its service account); unset: no DNS-01. */
  certManagerDns?: CertManagerDns;
  logRetentionDays: number;
  /** Velero's backup bucket and the IRSA role its service account assumes; unset: no backup store. */
  backups?: Omit<BackupStoreArgs, "tags"> & { serviceAccount: { namespace: string; name: string } };
  /** Container logs to a CloudWatch log group of `logRetentionDays`, written by the log shipper's service account; unset: none. */
  containerLogs?: { serviceAccount: { namespace: string; name: string } };
  tags: Tags;
}

/** The AWS foundation: network, EKS, RDS, S3 and IRSA, ending in the cloud-neutral Foundation. */
export class AwsFoundation extends pulumi.ComponentResource implements FoundationComponent {
  readonly foundation: Foundation;
  readonly outputs: FoundationOutputs;
  readonly imageRegistry: ImageRegistry;
  readonly network: Network;
  readonly cluster: Cluster;
  readonly karpenter: Karpenter;
  readonly database: Database;
  readonly artifactStore: ArtifactStore;
  readonly mlflowRoleArn: pulumi.Output<string>;
  readonly region: pulumi.Output<string>;
  backupStore?: BackupStore;
  containerLogs?: ClusterLogs;

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
    this.karpenter = new Karpenter(
      `${name}-karpenter`,
      {
        ...args.autoscaling,
        clusterName: args.clusterName,
        kubernetesVersion: args.cluster.kubernetesVersion,
        cluster: {
          name: this.cluster.name,
          arn: this.cluster.arn,
          securityGroupId: this.cluster.securityGroupId,
          oidcProviderArn: this.cluster.oidcProviderArn,
          oidcIssuer: this.cluster.oidcIssuer,
          provider: this.cluster.provider,
        },
        tags: args.tags,
      },
      // Karpenter launches into the private subnets by their discovery tag: they exist first.
      { parent: this, dependsOn: [this.network] },
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
    const operations = this.operations(name, args, logsKey.arn);

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
      backups: operations.backups,
      logs: operations.logs,
      ingress: awsIngressSupport(
        `${name}-cert-manager-dns`,
        args.certManagerDns && { ...args.certManagerDns, oidcProviderArn: this.cluster.oidcProviderArn, oidcIssuer: this.cluster.oidcIssuer, region: this.region, tags: args.tags },
        parent,
      ),
    };
    this.outputs = {
      clusterName: this.cluster.name,
      kubeconfig: this.cluster.kubeconfig,
      databaseEndpoint: pulumi.interpolate`${this.database.instance.address}:${this.database.instance.port}`,
      artifactStoreUri: this.artifactStore.uri,
      region: this.region,
      imageRegistry: this.imageRegistry.url,
      mlflowIdentity: this.mlflowRoleArn,
      recovery: {
        database: {
          kind: "rds",
          instance: this.database.instance.identifier,
          region: this.region,
          subnetGroup: this.database.instance.dbSubnetGroupName.apply((n) => n ?? ""),
          securityGroupIds: this.database.instance.vpcSecurityGroupIds,
          parameterGroup: this.database.instance.parameterGroupName,
          backupRetentionDays: args.database.backupRetentionDays,
        },
        backupStore: operations.backups && {
          provider: "aws",
          bucket: operations.backups.bucket,
          prefix: operations.backups.prefix,
          region: operations.backups.region,
          config: operations.backups.config,
          identity: operations.backups.principal,
        },
        logs: this.containerLogs
          ? { kind: "cloudwatch", destination: this.containerLogs.logGroupName, retentionDays: args.logRetentionDays }
          : { kind: "stdout", destination: "kubectl logs", retentionDays: null },
      },
    };
    this.registerOutputs({ clusterName: this.cluster.name, mlflowRoleArn: this.mlflowRoleArn });
  }

  /**
   * The backup bucket with Velero's IRSA role (read and write under the bucket's prefix, its key
   * through S3 only), and the container log group with the log shipper's role: each only when asked.
   */
  private operations(name: string, args: AwsFoundationArgs, logsKeyArn: pulumi.Output<string>): Pick<Foundation, "backups" | "logs"> {
    const parent = { parent: this };
    const irsa = { oidcProviderArn: this.cluster.oidcProviderArn, oidcIssuer: this.cluster.oidcIssuer };
    let backups: Foundation["backups"];
    if (args.backups) {
      const { serviceAccount, ...lifecycle } = args.backups;
      const store = new BackupStore(`${name}-backups`, { ...lifecycle, tags: args.tags }, parent);
      this.backupStore = store;
      const role = new ServiceAccountRole(
        `${name}-velero-irsa`,
        {
          ...irsa,
          namespace: serviceAccount.namespace,
          serviceAccountName: serviceAccount.name,
          policy: pulumi.all([store.bucket.arn, store.kmsKey.arn, this.region]).apply(([bucketArn, keyArn, region]) => prefixAccessPolicy(bucketArn, store.prefix, keyArn, region)),
          tags: args.tags,
        },
        parent,
      );
      backups = {
        provider: "aws",
        bucket: store.bucket.bucket,
        prefix: store.prefix,
        region: this.region,
        config: pulumi.all([this.region, store.kmsKey.arn]).apply(([region, kmsKeyId]): Record<string, string> => ({ region, kmsKeyId })),
        identity: serviceAccountIdentity(serviceAccount, role.roleArn.apply((arn): Record<string, string> => ({ "eks.amazonaws.com/role-arn": arn }))),
        principal: role.roleArn,
      };
    }
    let logs: Foundation["logs"];
    if (args.containerLogs) {
      const { serviceAccount } = args.containerLogs;
      const group = new ClusterLogs(
        `${name}-logs`,
        { ...irsa, clusterName: args.clusterName, serviceAccount, retentionDays: args.logRetentionDays, kmsKeyArn: logsKeyArn, tags: args.tags },
        parent,
      );
      this.containerLogs = group;
      logs = {
        kind: "cloudwatch",
        logGroupName: group.logGroupName,
        region: this.region,
        identity: serviceAccountIdentity(serviceAccount, group.roleArn.apply((arn): Record<string, string> => ({ "eks.amazonaws.com/role-arn": arn }))),
        retentionDays: args.logRetentionDays,
      };
    }
    return { backups, logs };
  }
}
