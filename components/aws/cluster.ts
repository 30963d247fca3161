import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Tags } from "../contracts";
import { execKubeconfig } from "../shared/kubeconfig";
import { ServiceAccountRole } from "./identity";
import { amiTypeFor } from "./instance-types";
import { createKmsKey } from "./kms";

/** Every EKS control-plane log type: audit and authenticator logs are what an incident review needs. */
export const CONTROL_PLANE_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"];

export const CLUSTER_ADMIN_POLICY_ARN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
/** Read access to every object, Secrets included: what a `pulumi preview` needs to read live state. */
export const CLUSTER_VIEWER_POLICY_ARN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy";
/**
 * The EKS add-ons the platform manages. Each version is resolved for the cluster's Kubernetes version
 * (the default EKS publishes for it), so raising the version moves the add-ons in the same `pulumi up`.
 * metrics-server serves the resource metrics API that every HPA reads; EKS does not install it.
 */
export const MANAGED_ADDONS = ["vpc-cni", "kube-proxy", "coredns", "aws-ebs-csi-driver", "metrics-server"] as const;
export type ManagedAddon = (typeof MANAGED_ADDONS)[number];
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
  /** Whether the API server has a public endpoint at all; the private endpoint is always on. */
  endpointPublicAccess: boolean;
  /** CIDRs allowed to reach the public API endpoint (never 0.0.0.0/0 in prod: config refuses it). */
  publicAccessCidrs: string[];
  /** Networks in or peered with the VPC (a CI runner's subnet) allowed to reach the private endpoint on 443. */
  privateAccessCidrs: string[];
  nodeGroup: {
    capacityType: "SPOT" | "ON_DEMAND";
    instanceTypes: string[];
    min: number;
    max: number;
    desired: number;
    diskSizeGb: number;
  };
  /** IAM principals granted cluster admin through EKS access entries: from config only, never the caller. */
  adminPrincipalArns: string[];
  /** IAM principals with read-only access (the pull-request preview role). */
  viewerPrincipalArns: string[];
  /** The AWS CLI profile the kubeconfig's `aws eks get-token` uses (the stack's `aws:profile`). */
  awsProfile?: string;
  logRetentionDays: number;
  logsKmsKeyArn: pulumi.Input<string>;
  tags: Tags;
}

/** EKS with encrypted Secrets, all control-plane logs, access entries, IRSA and a managed node group. */
export class Cluster extends pulumi.ComponentResource {
  readonly name: pulumi.Output<string>;
  readonly arn: pulumi.Output<string>;
  readonly securityGroupId: pulumi.Output<string>;
  readonly oidcProviderArn: pulumi.Output<string>;
  readonly oidcIssuer: pulumi.Output<string>;
  readonly kubeconfig: pulumi.Output<string>;
  readonly provider: k8s.Provider;
  readonly storageClassName = DEFAULT_STORAGE_CLASS;
  /** The default StorageClass: volume claims bind only once it (and the CSI driver behind it) exists. */
  readonly storageClass: k8s.storage.v1.StorageClass;
  /** Serves the resource metrics API: HPAs are created after it. */
  readonly metricsServer: aws.eks.Addon;
  private readonly baseTags: Tags;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:aws:Cluster", name, {}, opts);
    this.baseTags = args.tags;
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
          endpointPublicAccess: args.endpointPublicAccess,
          publicAccessCidrs: args.endpointPublicAccess ? args.publicAccessCidrs : undefined,
        },
        encryptionConfig: { provider: { keyArn: secretsKey.arn }, resources: ["secrets"] },
        enabledClusterLogTypes: CONTROL_PLANE_LOG_TYPES,
        accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: false },
        tags: tags("eks"),
      },
      { parent: this, dependsOn: [clusterPolicy, controlPlaneLogs] },
    );
    this.name = cluster.name;
    this.arn = cluster.arn;
    this.securityGroupId = cluster.vpcConfig.apply((v) => v.clusterSecurityGroupId);
    this.oidcIssuer = cluster.identities.apply((ids) => ids[0].oidcs![0].issuer!);

    const oidc = new aws.iam.OpenIdConnectProvider(`${name}-oidc`, { url: this.oidcIssuer, clientIdLists: ["sts.amazonaws.com"], tags: tags("oidc") }, parent);
    this.oidcProviderArn = oidc.arn;

    for (const cidrBlock of args.privateAccessCidrs) {
      // The private endpoint answers only what the cluster security group lets in: a runner inside the VPC needs 443.
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-api-from-${cidrBlock.replace(/[./]/g, "-")}`,
        { securityGroupId: this.securityGroupId, cidrIpv4: cidrBlock, ipProtocol: "tcp", fromPort: 443, toPort: 443, description: "Kubernetes API (private endpoint)", tags: tags("api-ingress") },
        parent,
      );
    }

    const nodeGroup = this.createNodeGroup(name, args, cluster, tags);
    const admins = this.grantAccess(name, cluster, args.adminPrincipalArns, "admin", CLUSTER_ADMIN_POLICY_ARN, args.tags);
    this.grantAccess(name, cluster, args.viewerPrincipalArns, "viewer", CLUSTER_VIEWER_POLICY_ARN, args.tags);

    // The VPC CNI's network policy agent: without it every NetworkPolicy of the workloads is ignored.
    const vpcCni = this.addon(name, cluster, "vpc-cni", { configurationValues: JSON.stringify({ enableNetworkPolicy: "true" }) });
    this.addon(name, cluster, "kube-proxy", {});
    // CoreDNS and metrics-server run as pods: they need nodes before they report active.
    this.addon(name, cluster, "coredns", {}, [nodeGroup]);
    this.metricsServer = this.addon(name, cluster, "metrics-server", {}, [nodeGroup]);

    const region = aws.getRegionOutput({}, parent).region;
    this.kubeconfig = pulumi.secret(
      pulumi.all([cluster.name, cluster.endpoint, cluster.certificateAuthority, region]).apply(([clusterName, endpoint, ca, regionName]) =>
        buildKubeconfig(clusterName, endpoint, ca.data!, regionName, args.awsProfile),
      ),
    );
    // Workloads wait for nodes, admin access and the network policy agent: a provider that depends on them orders every object after them.
    this.provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: this.kubeconfig, enableServerSideApply: true }, { parent: this, dependsOn: [nodeGroup, vpcCni, ...admins] });
    this.storageClass = this.createStorage(name, args, cluster, nodeGroup, tags);
    this.registerOutputs({ name: this.name, oidcProviderArn: this.oidcProviderArn });
  }

  /**
   * One access entry and policy association per principal. Resource names derive from the ARN alone, so
   * adding or removing one principal never replaces another's access.
   */
  private grantAccess(name: string, cluster: aws.eks.Cluster, principals: string[], role: "admin" | "viewer", policyArn: string, baseTags: Tags): aws.eks.AccessPolicyAssociation[] {
    return [...new Set(principals)].map((principalArn) => {
      const id = `${name}-${role}-${accessEntrySuffix(principalArn)}`;
      const entry = new aws.eks.AccessEntry(id, { clusterName: cluster.name, principalArn, type: "STANDARD", tags: { ...baseTags, Name: id } }, { parent: this });
      return new aws.eks.AccessPolicyAssociation(`${id}-policy`, { clusterName: cluster.name, principalArn, policyArn, accessScope: { type: "cluster" } }, { parent: this, dependsOn: [entry] });
    });
  }

  /** An EKS add-on at the version EKS names as the default for the cluster's Kubernetes version. */
  private addon(name: string, cluster: aws.eks.Cluster, addonName: ManagedAddon, extra: Partial<aws.eks.AddonArgs>, dependsOn: pulumi.Resource[] = []): aws.eks.Addon {
    const version = aws.eks.getAddonVersionOutput({ addonName, kubernetesVersion: cluster.version, mostRecent: false }, { parent: this });
    return new aws.eks.Addon(
      `${name}-${addonName}`,
      {
        clusterName: cluster.name,
        addonName,
        addonVersion: version.version,
        resolveConflictsOnCreate: "OVERWRITE",
        resolveConflictsOnUpdate: "OVERWRITE",
        ...extra,
        tags: { ...(this.baseTags ?? {}), Name: `${name}-${addonName}` },
      },
      { parent: this, dependsOn },
    );
  }

  /** The EBS CSI driver (IRSA-scoped) and an encrypted gp3 default StorageClass for the workloads' volume claims. */
  private createStorage(name: string, args: ClusterArgs, cluster: aws.eks.Cluster, nodeGroup: aws.eks.NodeGroup, tags: (s: string) => Tags): k8s.storage.v1.StorageClass {
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
    const driver = this.addon(name, cluster, "aws-ebs-csi-driver", { serviceAccountRoleArn: role.roleArn }, [nodeGroup]);
    return new k8s.storage.v1.StorageClass(
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
        // Follows the control plane: raising the Kubernetes version rolls the nodes onto the new AMI after it.
        version: cluster.version,
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

/**
 * A kubeconfig that authenticates with `aws eks get-token`: no long-lived credential inside it. With
 * the stack's `aws:profile`, the token comes from the same profile the AWS provider uses.
 */
export function buildKubeconfig(clusterName: string, endpoint: string, caData: string, region: string, awsProfile?: string): string {
  return execKubeconfig({
    clusterName,
    server: endpoint,
    caData,
    exec: {
      command: "aws",
      args: ["eks", "get-token", "--cluster-name", clusterName, "--region", region, "--output", "json"],
      env: awsProfile ? { AWS_PROFILE: awsProfile } : undefined,
      installHint: "Install the AWS CLI v2 (https://docs.aws.amazon.com/cli/) and sign in to a principal listed in mlops:cluster.adminPrincipalArns",
    },
  });
}
