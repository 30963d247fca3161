import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Tags } from "../contracts";
import { ServiceAccountRole } from "./identity";
import { amiTypeFor } from "./instance-types";
import { createKmsKey } from "./kms";

/** Every EKS control-plane log type: audit and authenticator logs are what an incident review needs. */
export const CONTROL_PLANE_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"];

export const CLUSTER_ADMIN_POLICY_ARN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
/** The EBS CSI driver's controller: the only identity that may create and attach volumes. */
export const EBS_CSI_SERVICE_ACCOUNT = { namespace: "kube-system", name: "ebs-csi-controller-sa" };
export const EBS_CSI_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy";
/** The default StorageClass: the workloads' volume claims (Prometheus, Alertmanager) name none. */
export const DEFAULT_STORAGE_CLASS = "gp3";

export interface ClusterArgs {
  clusterName: string;
  kubernetesVersion: string;
  vpcId: pulumi.Input<string>;
  /** Nodes and the control plane's network interfaces live in the private subnets. */
  privateSubnetIds: pulumi.Input<string>[];
  /** CIDRs allowed to reach the public API endpoint (never 0.0.0.0/0 in prod: config refuses it). */
  publicAccessCidrs: string[];
  nodeGroup: {
    capacityType: "SPOT" | "ON_DEMAND";
    instanceTypes: string[];
    min: number;
    max: number;
    desired: number;
    diskSizeGb: number;
  };
  /** IAM principals granted cluster admin through EKS access entries (include the one running `pulumi up`). */
  adminPrincipalArns: string[];
  logRetentionDays: number;
  logsKmsKeyArn: pulumi.Input<string>;
  tags: Tags;
}

/** EKS with encrypted Secrets, all control-plane logs, access entries, IRSA and a managed node group. */
export class Cluster extends pulumi.ComponentResource {
  readonly name: pulumi.Output<string>;
  readonly securityGroupId: pulumi.Output<string>;
  readonly oidcProviderArn: pulumi.Output<string>;
  readonly oidcIssuer: pulumi.Output<string>;
  readonly kubeconfig: pulumi.Output<string>;
  readonly provider: k8s.Provider;
  readonly storageClassName = DEFAULT_STORAGE_CLASS;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:aws:Cluster", name, {}, opts);
    const parent = { parent: this };
    const tags = (suffix: string) => ({ ...args.tags, Name: `${name}-${suffix}` });

    const secretsKey = createKmsKey(`${name}-eks-secrets`, `Envelope encryption of Kubernetes Secrets in ${args.clusterName}`, args.tags, parent);
    const clusterRole = new aws.iam.Role(
      `${name}-cluster-role`,
      { assumeRolePolicy: servicePrincipalTrust("eks.amazonaws.com"), tags: tags("cluster-role") },
      parent,
    );
    const clusterPolicy = new aws.iam.RolePolicyAttachment(`${name}-cluster-policy`, { role: clusterRole.name, policyArn: "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy" }, parent);

    // EKS writes to this group name; creating it first sets retention and encryption instead of the defaults (never expire, unencrypted).
    const controlPlaneLogs = new aws.cloudwatch.LogGroup(
      `${name}-control-plane-logs`,
      { name: `/aws/eks/${args.clusterName}/cluster`, retentionInDays: args.logRetentionDays, kmsKeyId: args.logsKmsKeyArn, tags: tags("control-plane-logs") },
      parent,
    );

    const cluster = new aws.eks.Cluster(
      `${name}-eks`,
      {
        name: args.clusterName,
        version: args.kubernetesVersion,
        roleArn: clusterRole.arn,
        vpcConfig: {
          subnetIds: args.privateSubnetIds,
          endpointPrivateAccess: true,
          endpointPublicAccess: true,
          publicAccessCidrs: args.publicAccessCidrs,
        },
        encryptionConfig: { provider: { keyArn: secretsKey.arn }, resources: ["secrets"] },
        enabledClusterLogTypes: CONTROL_PLANE_LOG_TYPES,
        accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: false },
        tags: tags("eks"),
      },
      { parent: this, dependsOn: [clusterPolicy, controlPlaneLogs] },
    );
    this.name = cluster.name;
    this.securityGroupId = cluster.vpcConfig.apply((v) => v.clusterSecurityGroupId);
    this.oidcIssuer = cluster.identities.apply((ids) => ids[0].oidcs![0].issuer!);

    const oidc = new aws.iam.OpenIdConnectProvider(`${name}-oidc`, { url: this.oidcIssuer, clientIdLists: ["sts.amazonaws.com"], tags: tags("oidc") }, parent);
    this.oidcProviderArn = oidc.arn;

    const nodeGroup = this.createNodeGroup(name, args, cluster, tags);

    const access = [...new Set(args.adminPrincipalArns)].map((principalArn) => {
      const id = `${name}-admin-${accessEntrySuffix(principalArn)}`;
      const entry = new aws.eks.AccessEntry(id, { clusterName: cluster.name, principalArn, type: "STANDARD", tags: { ...args.tags, Name: id } }, parent);
      return new aws.eks.AccessPolicyAssociation(
        `${id}-policy`,
        { clusterName: cluster.name, principalArn, policyArn: CLUSTER_ADMIN_POLICY_ARN, accessScope: { type: "cluster" } },
        { parent: this, dependsOn: [entry] },
      );
    });

    // The VPC CNI's network policy agent: without it every NetworkPolicy of the workloads is ignored.
    const vpcCni = new aws.eks.Addon(
      `${name}-vpc-cni`,
      {
        clusterName: cluster.name,
        addonName: "vpc-cni",
        configurationValues: JSON.stringify({ enableNetworkPolicy: "true" }),
        resolveConflictsOnCreate: "OVERWRITE",
        resolveConflictsOnUpdate: "OVERWRITE",
        tags: tags("vpc-cni"),
      },
      parent,
    );

    const region = aws.getRegionOutput({}, parent).region;
    this.kubeconfig = pulumi.secret(
      pulumi.all([cluster.name, cluster.endpoint, cluster.certificateAuthority, region]).apply(([clusterName, endpoint, ca, regionName]) =>
        buildKubeconfig(clusterName, endpoint, ca.data!, regionName),
      ),
    );
    // Workloads wait for nodes, admin access and the network policy agent: a provider that depends on them orders every object after them.
    this.provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: this.kubeconfig, enableServerSideApply: true }, { parent: this, dependsOn: [nodeGroup, vpcCni, ...access] });
    this.createStorage(name, args, cluster, nodeGroup, tags);
    this.registerOutputs({ name: this.name, oidcProviderArn: this.oidcProviderArn });
  }

  /** The EBS CSI driver (IRSA-scoped) and an encrypted gp3 default StorageClass for the workloads' volume claims. */
  private createStorage(name: string, args: ClusterArgs, cluster: aws.eks.Cluster, nodeGroup: aws.eks.NodeGroup, tags: (s: string) => Tags): void {
    const role = new ServiceAccountRole(
      `${name}-ebs-csi`,
      {
        oidcProviderArn: this.oidcProviderArn,
        oidcIssuer: this.oidcIssuer,
        namespace: EBS_CSI_SERVICE_ACCOUNT.namespace,
        serviceAccountName: EBS_CSI_SERVICE_ACCOUNT.name,
        managedPolicyArns: [EBS_CSI_POLICY_ARN],
        tags: args.tags,
      },
      { parent: this },
    );
    // The driver's controller needs nodes to run on before the add-on reports active.
    const driver = new aws.eks.Addon(
      `${name}-ebs-csi-driver`,
      {
        clusterName: cluster.name,
        addonName: "aws-ebs-csi-driver",
        serviceAccountRoleArn: role.roleArn,
        resolveConflictsOnCreate: "OVERWRITE",
        resolveConflictsOnUpdate: "OVERWRITE",
        tags: tags("ebs-csi-driver"),
      },
      { parent: this, dependsOn: [nodeGroup] },
    );
    new k8s.storage.v1.StorageClass(
      `${name}-${DEFAULT_STORAGE_CLASS}`,
      {
        metadata: {
          name: DEFAULT_STORAGE_CLASS,
          annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
          labels: {
            "app.kubernetes.io/name": "ebs-csi-storage",
            "app.kubernetes.io/instance": DEFAULT_STORAGE_CLASS,
            "app.kubernetes.io/component": "storage",
            "app.kubernetes.io/part-of": "mlops-platform",
            "app.kubernetes.io/managed-by": "pulumi",
          },
        },
        provisioner: "ebs.csi.aws.com",
        parameters: { type: "gp3", encrypted: "true" },
        // Bound where the pod lands: an EBS volume lives in one AZ.
        volumeBindingMode: "WaitForFirstConsumer",
        allowVolumeExpansion: true,
        reclaimPolicy: "Delete",
      },
      { parent: this, provider: this.provider, dependsOn: [driver] },
    );
  }

  private createNodeGroup(name: string, args: ClusterArgs, cluster: aws.eks.Cluster, tags: (s: string) => Tags): aws.eks.NodeGroup {
    const parent = { parent: this };
    const nodeRole = new aws.iam.Role(`${name}-node-role`, { assumeRolePolicy: servicePrincipalTrust("ec2.amazonaws.com"), tags: tags("node-role") }, parent);
    const attachments = ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"].map(
      (policy) => new aws.iam.RolePolicyAttachment(`${name}-node-${policy}`, { role: nodeRole.name, policyArn: `arn:aws:iam::aws:policy/${policy}` }, parent),
    );
    const launchTemplate = new aws.ec2.LaunchTemplate(
      `${name}-nodes-lt`,
      {
        // IMDSv2 only, one hop: pods cannot reach the node's credentials; they use IRSA.
        metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
        blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: args.nodeGroup.diskSizeGb, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }],
        tagSpecifications: [
          { resourceType: "instance", tags: tags("node") },
          { resourceType: "volume", tags: tags("node-volume") },
        ],
        tags: tags("nodes-lt"),
      },
      parent,
    );
    return new aws.eks.NodeGroup(
      `${name}-nodes`,
      {
        clusterName: cluster.name,
        nodeRoleArn: nodeRole.arn,
        subnetIds: args.privateSubnetIds,
        amiType: amiTypeFor(args.nodeGroup.instanceTypes),
        capacityType: args.nodeGroup.capacityType,
        instanceTypes: args.nodeGroup.instanceTypes,
        scalingConfig: { minSize: args.nodeGroup.min, maxSize: args.nodeGroup.max, desiredSize: args.nodeGroup.desired },
        updateConfig: { maxUnavailable: 1 },
        launchTemplate: { id: launchTemplate.id, version: launchTemplate.latestVersion.apply(String) },
        tags: tags("nodes"),
      },
      { parent: this, dependsOn: attachments, ignoreChanges: ["scalingConfig.desiredSize"] },
    );
  }
}

/** A stable resource-name suffix per principal: adding or removing one admin never renames the others. */
export function accessEntrySuffix(principalArn: string): string {
  return principalArn.replace(/^arn:[^:]+:iam::\d{12}:/, "").replace(/[^A-Za-z0-9-]+/g, "-");
}

export function servicePrincipalTrust(service: string): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }] });
}

/** A kubeconfig that authenticates with `aws eks get-token`: no long-lived credential inside it. */
export function buildKubeconfig(clusterName: string, endpoint: string, caData: string, region: string): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: clusterName, cluster: { server: endpoint, "certificate-authority-data": caData } }],
    contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
    "current-context": clusterName,
    users: [
      {
        name: clusterName,
        user: {
          exec: {
            apiVersion: "client.authentication.k8s.io/v1beta1",
            command: "aws",
            args: ["eks", "get-token", "--cluster-name", clusterName, "--region", region, "--output", "json"],
          },
        },
      },
    ],
  });
}
