import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Tags } from "../contracts";
import { pinnedRelease } from "../kubernetes/helm-release";
import { recommendedLabels } from "../kubernetes/labels";
import { podSecurityLabels } from "../kubernetes/namespaces";
import { policySpecs, type Flow } from "../kubernetes/network-policies";
import type { ResourceSpec } from "../kubernetes/pod";
import { GPU_NODE_LABELS, GPU_TAINT, NvidiaDevicePlugin } from "../shared/gpu";
import { ServiceAccountRole } from "./identity";

/**
 * The pinned Karpenter charts (aws/karpenter-provider-aws, OCI on public ECR). `karpenter-crd` installs
 * and upgrades the CRDs (Helm never upgrades a chart's crds/ directory), `karpenter` the controller, at
 * the same version. Bump here, read the upgrade guide (https://karpenter.sh/docs/upgrading/upgrade-guide/),
 * check the controller policy below against that version's CloudFormation template, run the tests.
 * 1.8 supports Kubernetes 1.29-1.34 (mlops:cluster.kubernetesVersion allows 1.31-1.34).
 */
export const KARPENTER_CHART = {
  chart: "oci://public.ecr.aws/karpenter/karpenter",
  crdChart: "oci://public.ecr.aws/karpenter/karpenter-crd",
  version: "1.8.1",
  release: "karpenter",
  crdRelease: "karpenter-crd",
} as const;

/** Karpenter's own namespace: restricted Pod Security, default-deny with exactly the flows it needs. */
export const KARPENTER_NAMESPACE = "karpenter";
/** The controller's service account: the only identity the controller role trusts. */
export const KARPENTER_SERVICE_ACCOUNT = { namespace: KARPENTER_NAMESPACE, name: "karpenter" } as const;
/** Subnets and security groups carrying this tag (value: the cluster name) are where Karpenter launches nodes. */
export const KARPENTER_DISCOVERY_TAG = "karpenter.sh/discovery";
/** The controller's metrics and health ports (chart values `controller.metrics.port`, `controller.healthProbe.port`). */
export const KARPENTER_PORTS = { metrics: 8080, health: 8081 } as const;
/** The EKS-optimized AL2023 AMI; for GPU instance types Karpenter picks its NVIDIA variant (driver and container toolkit). */
export const KARPENTER_AMI_ALIAS = "al2023@latest";
/** Node role policies: the same three as the managed node group's role (no SSM, no more). */
export const KARPENTER_NODE_POLICIES = ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"] as const;

/** The EventBridge rules feeding the interruption queue: Karpenter drains a node before EC2 takes it away. */
export const INTERRUPTION_EVENTS = [
  { id: "scheduled-change", source: "aws.health", detailType: "AWS Health Event" },
  { id: "spot-interruption", source: "aws.ec2", detailType: "EC2 Spot Instance Interruption Warning" },
  { id: "rebalance", source: "aws.ec2", detailType: "EC2 Instance Rebalance Recommendation" },
  { id: "instance-state-change", source: "aws.ec2", detailType: "EC2 Instance State-change Notification" },
] as const;

export type CapacityType = "spot" | "on-demand";

export interface KarpenterNodePoolSettings {
  /** `karpenter.sh/capacity-type` values: the environment profile's spot decision. */
  capacityTypes: CapacityType[];
  /** EC2 instance categories (c, m, r...) and the oldest generation accepted (exclusive). */
  instanceCategories: string[];
  minGeneration: number;
  architecture: "amd64" | "arm64";
  /** What this pool may add in total: Karpenter stops launching at these sums. */
  limits: { cpu: number; memoryGi: number };
  diskSizeGb: number;
  /** How long a node may sit empty or underutilized before consolidation removes it. */
  consolidateAfter: string;
  /** Nodes are replaced after this long (fresh AMI, no long-lived hosts). */
  expireAfter: string;
  /** At most this share of the pool's nodes disrupted at once (consolidation, drift, expiry). */
  disruptionBudget: string;
}

export interface KarpenterGpuPoolSettings {
  /** EC2 GPU instance types, e.g. g5.xlarge, g6.xlarge: the pool's `node.kubernetes.io/instance-type` requirement. */
  instanceTypes: string[];
  /** Karpenter bounds a pool by resources, not node count: at most this many GPUs in the pool. */
  maxGpus: number;
  diskSizeGb: number;
  capacityTypes: CapacityType[];
}

export interface KarpenterArgs {
  clusterName: string;
  kubernetesVersion: string;
  cluster: {
    name: pulumi.Input<string>;
    arn: pulumi.Input<string>;
    securityGroupId: pulumi.Input<string>;
    oidcProviderArn: pulumi.Input<string>;
    oidcIssuer: pulumi.Input<string>;
    provider: k8s.Provider;
  };
  controller: { replicas: number; resources: ResourceSpec };
  nodePool: KarpenterNodePoolSettings;
  /** A tainted GPU pool; unset: none. */
  gpuNodePool?: KarpenterGpuPoolSettings;
  tags: Tags;
}

/**
 * Karpenter: nodes follow pending pods. The managed node group stays as the system pool (Karpenter's
 * own controller runs there, never on a node it launched); Karpenter adds right-sized nodes for pods
 * that fit nowhere, consolidates them away when they empty, and drains them ahead of spot interruptions
 * and scheduled maintenance (SQS queue fed by EventBridge).
 *
 * Identity: IRSA, as MLflow's (a ServiceAccountRole trusting `karpenter:karpenter` only). Nodes: their
 * own role, a Pulumi-managed instance profile (so the controller needs no IAM write permission) and an
 * EC2_LINUX access entry (the cluster uses access entries, no aws-auth ConfigMap).
 */
export class Karpenter extends pulumi.ComponentResource {
  readonly nodeRoleArn: pulumi.Output<string>;
  readonly controllerRoleArn: pulumi.Output<string>;
  readonly queueName: string;
  readonly release: k8s.helm.v3.Release;
  readonly nodePools: k8s.apiextensions.CustomResource[] = [];

  constructor(name: string, args: KarpenterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:aws:Karpenter", name, {}, opts);
    const parent = { parent: this };
    const tags = (suffix: string) => ({ ...args.tags, Name: `${name}-${suffix}` });
    const k8sOpts = { parent: this, provider: args.cluster.provider };
    const region = aws.getRegionOutput({}, parent).region;
    const accountId = aws.getCallerIdentityOutput({}, parent).accountId;

    // Nodes: a role with the worker policies only, its instance profile, and cluster membership through an access entry.
    const nodeRole = new aws.iam.Role(
      `${name}-node-role`,
      { description: `Nodes Karpenter launches in ${args.clusterName}`, assumeRolePolicy: ec2Trust(), tags: tags("node-role") },
      parent,
    );
    const nodePolicies = KARPENTER_NODE_POLICIES.map(
      (policy) => new aws.iam.RolePolicyAttachment(`${name}-node-${policy}`, { role: nodeRole.name, policyArn: `arn:aws:iam::aws:policy/${policy}` }, parent),
    );
    const instanceProfile = new aws.iam.InstanceProfile(`${name}-node-profile`, { role: nodeRole.name, tags: tags("node-profile") }, parent);
    const nodeAccess = new aws.eks.AccessEntry(
      `${name}-node-access`,
      { clusterName: args.cluster.name, principalArn: nodeRole.arn, type: "EC2_LINUX", tags: tags("node-access") },
      { parent: this, dependsOn: nodePolicies },
    );
    this.nodeRoleArn = nodeRole.arn;

    // The cluster security group (the one the database admits) is where Karpenter's nodes go, like the node group's.
    new aws.ec2.Tag(`${name}-sg-discovery`, { resourceId: args.cluster.securityGroupId, key: KARPENTER_DISCOVERY_TAG, value: args.clusterName }, parent);

    // Interruption handling: EventBridge -> SQS (SSE) -> the controller, which cordons and drains the node.
    this.queueName = `${args.clusterName}-karpenter`;
    const queue = new aws.sqs.Queue(
      `${name}-interruptions`,
      { name: this.queueName, messageRetentionSeconds: 300, sqsManagedSseEnabled: true, tags: tags("interruptions") },
      parent,
    );
    const rules = INTERRUPTION_EVENTS.map((event) => {
      const rule = new aws.cloudwatch.EventRule(
        `${name}-${event.id}`,
        {
          description: `${event.detailType} events for Karpenter in ${args.clusterName}`,
          eventPattern: JSON.stringify({ source: [event.source], "detail-type": [event.detailType] }),
          tags: tags(event.id),
        },
        parent,
      );
      new aws.cloudwatch.EventTarget(`${name}-${event.id}-target`, { rule: rule.name, arn: queue.arn, targetId: "KarpenterInterruptionQueue" }, parent);
      return rule;
    });
    const queuePolicy = new aws.sqs.QueuePolicy(
      `${name}-interruptions-policy`,
      { queueUrl: queue.url, policy: pulumi.all([queue.arn, ...rules.map((r) => r.arn)]).apply(([queueArn, ...ruleArns]) => interruptionQueuePolicy(queueArn, ruleArns)) },
      parent,
    );

    const controllerRole = new ServiceAccountRole(
      `${name}-controller-irsa`,
      {
        oidcProviderArn: args.cluster.oidcProviderArn,
        oidcIssuer: args.cluster.oidcIssuer,
        namespace: KARPENTER_SERVICE_ACCOUNT.namespace,
        serviceAccountName: KARPENTER_SERVICE_ACCOUNT.name,
        policy: pulumi
          .all([region, accountId, args.cluster.arn, queue.arn, nodeRole.arn])
          .apply(([regionName, account, clusterArn, queueArn, nodeRoleArn]) =>
            karpenterControllerPolicy({ clusterName: args.clusterName, region: regionName, accountId: account, clusterArn, queueArn, nodeRoleArn }),
          ),
        tags: args.tags,
      },
      parent,
    );
    this.controllerRoleArn = controllerRole.roleArn;

    const namespace = new k8s.core.v1.Namespace(
      `${name}-ns`,
      {
        metadata: {
          name: KARPENTER_NAMESPACE,
          labels: {
            ...recommendedLabels({ name: "namespace", instance: KARPENTER_NAMESPACE, component: "namespace" }),
            ...podSecurityLabels({ enforce: "restricted", warn: "restricted", kubernetesVersion: args.kubernetesVersion }),
          },
        },
      },
      k8sOpts,
    );
    // Default-deny plus exactly the controller's flows (the policies NetworkPolicies would declare, named after this component).
    const policyLabels = recommendedLabels({ name: "network-policy", instance: KARPENTER_NAMESPACE, component: "network-policy" });
    const policies = Object.entries({ "default-deny": { podSelector: {}, policyTypes: ["Ingress", "Egress"] }, ...policySpecs(KARPENTER_NAMESPACE, karpenterFlows()) }).map(
      ([policyName, spec]) => new k8s.networking.v1.NetworkPolicy(`${name}-${policyName}`, { metadata: { name: policyName, namespace: namespace.metadata.name, labels: policyLabels }, spec }, k8sOpts),
    );

    // CRDs first, from their own chart, so a version bump upgrades them too.
    const crds = pinnedRelease(
      `${name}-crd`,
      {
        pin: { chart: KARPENTER_CHART.crdChart, version: KARPENTER_CHART.version, release: KARPENTER_CHART.crdRelease },
        namespace: namespace.metadata.name,
        createNamespace: false,
        timeout: 300,
      },
      { ...k8sOpts, dependsOn: policies },
    );
    this.release = pinnedRelease(
      `${name}-release`,
      {
        pin: KARPENTER_CHART,
        namespace: namespace.metadata.name,
        createNamespace: false,
        // The CRDs are the release above's.
        skipCrds: true,
        values: karpenterValues(args, this.queueName, controllerRole.roleArn, region),
      },
      // The controller starts with its permissions, its queue and a node identity that can join the cluster.
      { ...k8sOpts, dependsOn: [crds, ...policies, queuePolicy, nodeAccess, instanceProfile] },
    );

    const afterRelease = { ...k8sOpts, dependsOn: [this.release] };
    const nodeClass = (id: string, diskSizeGb: number) =>
      new k8s.apiextensions.CustomResource(
        `${name}-nodeclass-${id}`,
        { apiVersion: "karpenter.k8s.aws/v1", kind: "EC2NodeClass", metadata: { name: id, labels: labels(id, "node-class") }, spec: ec2NodeClassSpec(args.clusterName, instanceProfile.name, diskSizeGb, tags(`node-${id}`)) },
        afterRelease,
      );
    const defaultClass = nodeClass("default", args.nodePool.diskSizeGb);
    this.nodePools.push(
      new k8s.apiextensions.CustomResource(
        `${name}-nodepool-default`,
        { apiVersion: "karpenter.sh/v1", kind: "NodePool", metadata: { name: "default", labels: labels("default", "node-pool") }, spec: defaultNodePoolSpec(args.nodePool) },
        { ...afterRelease, dependsOn: [this.release, defaultClass] },
      ),
    );
    if (args.gpuNodePool) {
      const gpuClass = nodeClass("gpu", args.gpuNodePool.diskSizeGb);
      this.nodePools.push(
        new k8s.apiextensions.CustomResource(
          `${name}-nodepool-gpu`,
          { apiVersion: "karpenter.sh/v1", kind: "NodePool", metadata: { name: "gpu", labels: labels("gpu", "node-pool") }, spec: gpuNodePoolSpec(args.gpuNodePool, args.nodePool) },
          { ...afterRelease, dependsOn: [this.release, gpuClass] },
        ),
      );
      new NvidiaDevicePlugin(`${name}-nvidia-device-plugin`, { kubernetesVersion: args.kubernetesVersion, provider: args.cluster.provider, dependsOn: [this.release] }, parent);
    }
    this.registerOutputs({ controllerRoleArn: this.controllerRoleArn, nodeRoleArn: this.nodeRoleArn });
  }
}

const labels = (instance: string, component: string) => recommendedLabels({ name: "karpenter", instance, component });

function ec2Trust(): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] });
}

/** Only the karpenter pods: DNS, and HTTPS to the API server and the AWS APIs (EC2, SQS, SSM, pricing, EKS, STS). Nothing may call them (webhooks off). */
export function karpenterFlows(): Flow[] {
  const controller = { kind: "pods" as const, name: "karpenter", namespace: KARPENTER_NAMESPACE, selector: { "app.kubernetes.io/name": "karpenter", "app.kubernetes.io/instance": KARPENTER_CHART.release } };
  const dns = { kind: "pods" as const, name: "kube-dns", namespace: "kube-system", selector: { "k8s-app": "kube-dns" } };
  const anywhere = { kind: "anywhere" as const, name: "anywhere" };
  return [
    { from: controller, to: dns, ports: [{ port: 53, protocol: "UDP" }, { port: 53, protocol: "TCP" }], why: "name resolution" },
    { from: controller, to: anywhere, ports: [{ port: 443 }], why: "the Kubernetes API and the AWS APIs (EC2, SQS, SSM, pricing, EKS, STS)" },
  ];
}

/** The chart's values: only what differs from its defaults, each for a stated reason. */
export function karpenterValues(args: KarpenterArgs, queueName: string, roleArn: pulumi.Input<string>, region: pulumi.Input<string>): Record<string, unknown> {
  const r = args.controller.resources;
  return {
    serviceAccount: { name: KARPENTER_SERVICE_ACCOUNT.name, annotations: { "eks.amazonaws.com/role-arn": roleArn } },
    replicas: args.controller.replicas,
    settings: { clusterName: args.clusterName, interruptionQueue: queueName },
    // Conversion and validation webhooks stay off (the CRDs validate with CEL): nothing has to reach the pods.
    webhook: { enabled: false },
    controller: {
      resources: { requests: { cpu: r.cpuRequest, memory: r.memoryRequest }, limits: { cpu: r.cpuLimit, memory: r.memoryLimit } },
      metrics: { port: KARPENTER_PORTS.metrics },
      healthProbe: { port: KARPENTER_PORTS.health },
      // Nodes' IMDS is out of reach (hop limit 1): the region comes from here, credentials from IRSA.
      env: [{ name: "AWS_REGION", value: region }],
    },
    additionalLabels: { "app.kubernetes.io/part-of": "mlops-platform" },
  };
}

/** Launch settings of a class of nodes: private subnets and the cluster security group by tag, IMDSv2 with hop limit 1, encrypted gp3. */
export function ec2NodeClassSpec(clusterName: string, instanceProfile: pulumi.Input<string>, diskSizeGb: number, tags: Tags): Record<string, unknown> {
  const discovery = { [KARPENTER_DISCOVERY_TAG]: clusterName };
  return {
    amiSelectorTerms: [{ alias: KARPENTER_AMI_ALIAS }],
    instanceProfile,
    subnetSelectorTerms: [{ tags: discovery }],
    securityGroupSelectorTerms: [{ tags: discovery }],
    associatePublicIPAddress: false,
    // Pods cannot reach the node's credentials; they use IRSA.
    metadataOptions: { httpEndpoint: "enabled", httpProtocolIPv6: "disabled", httpPutResponseHopLimit: 1, httpTokens: "required" },
    blockDeviceMappings: [{ deviceName: "/dev/xvda", rootVolume: true, ebs: { volumeSize: `${diskSizeGb}Gi`, volumeType: "gp3", encrypted: true, deleteOnTermination: true } }],
    tags,
  };
}

const requirement = (key: string, operator: "In" | "Gt", values: string[]) => ({ key, operator, values });

/** The general-purpose pool: the profile's capacity type and instance families, bounded by the profile's limits. */
export function defaultNodePoolSpec(s: KarpenterNodePoolSettings): Record<string, unknown> {
  return {
    template: {
      metadata: { labels: { "mlops-platform/node-pool": "default" } },
      spec: {
        nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: "default" },
        requirements: [
          requirement("karpenter.sh/capacity-type", "In", s.capacityTypes),
          requirement("kubernetes.io/arch", "In", [s.architecture]),
          requirement("kubernetes.io/os", "In", ["linux"]),
          requirement("karpenter.k8s.aws/instance-category", "In", s.instanceCategories),
          requirement("karpenter.k8s.aws/instance-generation", "Gt", [String(s.minGeneration)]),
        ],
        expireAfter: s.expireAfter,
      },
    },
    disruption: { consolidationPolicy: "WhenEmptyOrUnderutilized", consolidateAfter: s.consolidateAfter, budgets: [{ nodes: s.disruptionBudget }] },
    limits: { cpu: String(s.limits.cpu), memory: `${s.limits.memoryGi}Gi` },
    // Ahead of the GPU pool: a pod that tolerates the GPU taint but asks for no GPU still gets a general node.
    weight: 10,
  };
}

/** The GPU pool: only the configured GPU types, tainted and labelled, bounded by a GPU count; emptied nodes go quickly (they are expensive). */
export function gpuNodePoolSpec(g: KarpenterGpuPoolSettings, base: KarpenterNodePoolSettings): Record<string, unknown> {
  return {
    template: {
      metadata: { labels: { ...GPU_NODE_LABELS } },
      spec: {
        nodeClassRef: { group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: "gpu" },
        taints: [{ ...GPU_TAINT }],
        requirements: [
          requirement("karpenter.sh/capacity-type", "In", g.capacityTypes),
          requirement("kubernetes.io/os", "In", ["linux"]),
          requirement("node.kubernetes.io/instance-type", "In", g.instanceTypes),
        ],
        expireAfter: base.expireAfter,
      },
    },
    disruption: { consolidationPolicy: "WhenEmpty", consolidateAfter: "5m", budgets: [{ nodes: base.disruptionBudget }] },
    limits: { "nvidia.com/gpu": String(g.maxGpus) },
  };
}

/**
 * The controller's permissions, after the policy of Karpenter's v1 CloudFormation template: launch and
 * tag only with the cluster's ownership tag and a NodePool tag, terminate only what it launched, read the
 * region's EC2 offerings, pass only the node role, read the queue and describe this cluster. No IAM
 * write: the instance profile is Pulumi's.
 */
export function karpenterControllerPolicy(p: { clusterName: string; region: string; accountId: string; clusterArn: string; queueArn: string; nodeRoleArn: string }): string {
  const ec2 = (resource: string) => `arn:aws:ec2:${p.region}:*:${resource}`;
  const owned = `kubernetes.io/cluster/${p.clusterName}`;
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "AllowScopedEC2InstanceAccessActions",
        Effect: "Allow",
        Action: ["ec2:RunInstances", "ec2:CreateFleet"],
        Resource: [`arn:aws:ec2:${p.region}::image/*`, `arn:aws:ec2:${p.region}::snapshot/*`, ec2("security-group/*"), ec2("subnet/*"), ec2("capacity-reservation/*")],
      },
      {
        Sid: "AllowScopedEC2LaunchTemplateAccessActions",
        Effect: "Allow",
        Action: ["ec2:RunInstances", "ec2:CreateFleet"],
        Resource: ec2("launch-template/*"),
        Condition: { StringEquals: { [`aws:ResourceTag/${owned}`]: "owned" }, StringLike: { "aws:ResourceTag/karpenter.sh/nodepool": "*" } },
      },
      {
        Sid: "AllowScopedEC2InstanceActionsWithTags",
        Effect: "Allow",
        Action: ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
        Resource: ["fleet/*", "instance/*", "volume/*", "network-interface/*", "launch-template/*", "spot-instances-request/*"].map(ec2),
        Condition: {
          StringEquals: { [`aws:RequestTag/${owned}`]: "owned", "aws:RequestTag/eks:eks-cluster-name": p.clusterName },
          StringLike: { "aws:RequestTag/karpenter.sh/nodepool": "*" },
        },
      },
      {
        Sid: "AllowScopedResourceCreationTagging",
        Effect: "Allow",
        Action: "ec2:CreateTags",
        Resource: ["fleet/*", "instance/*", "volume/*", "network-interface/*", "launch-template/*", "spot-instances-request/*"].map(ec2),
        Condition: {
          StringEquals: { [`aws:RequestTag/${owned}`]: "owned", "aws:RequestTag/eks:eks-cluster-name": p.clusterName, "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"] },
          StringLike: { "aws:RequestTag/karpenter.sh/nodepool": "*" },
        },
      },
      {
        Sid: "AllowScopedResourceTagging",
        Effect: "Allow",
        Action: "ec2:CreateTags",
        Resource: ec2("instance/*"),
        Condition: {
          StringEquals: { [`aws:ResourceTag/${owned}`]: "owned" },
          StringLike: { "aws:ResourceTag/karpenter.sh/nodepool": "*" },
          StringEqualsIfExists: { "aws:RequestTag/eks:eks-cluster-name": p.clusterName },
          "ForAllValues:StringEquals": { "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"] },
        },
      },
      {
        Sid: "AllowScopedDeletion",
        Effect: "Allow",
        Action: ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
        Resource: [ec2("instance/*"), ec2("launch-template/*")],
        Condition: { StringEquals: { [`aws:ResourceTag/${owned}`]: "owned" }, StringLike: { "aws:ResourceTag/karpenter.sh/nodepool": "*" } },
      },
      {
        Sid: "AllowRegionalReadActions",
        Effect: "Allow",
        Action: [
          "ec2:DescribeAvailabilityZones",
          "ec2:DescribeCapacityReservations",
          "ec2:DescribeImages",
          "ec2:DescribeInstances",
          "ec2:DescribeInstanceStatus",
          "ec2:DescribeInstanceTypeOfferings",
          "ec2:DescribeInstanceTypes",
          "ec2:DescribeLaunchTemplates",
          "ec2:DescribePlacementGroups",
          "ec2:DescribeSecurityGroups",
          "ec2:DescribeSpotPriceHistory",
          "ec2:DescribeSubnets",
        ],
        Resource: "*",
        Condition: { StringEquals: { "aws:RequestedRegion": p.region } },
      },
      { Sid: "AllowSSMReadActions", Effect: "Allow", Action: "ssm:GetParameter", Resource: `arn:aws:ssm:${p.region}::parameter/aws/service/*` },
      { Sid: "AllowPricingReadActions", Effect: "Allow", Action: "pricing:GetProducts", Resource: "*" },
      { Sid: "AllowInterruptionQueueActions", Effect: "Allow", Action: ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"], Resource: p.queueArn },
      {
        Sid: "AllowPassingInstanceRole",
        Effect: "Allow",
        Action: "iam:PassRole",
        Resource: p.nodeRoleArn,
        Condition: { StringEquals: { "iam:PassedToService": "ec2.amazonaws.com" } },
      },
      { Sid: "AllowInstanceProfileReadActions", Effect: "Allow", Action: "iam:GetInstanceProfile", Resource: `arn:aws:iam::${p.accountId}:instance-profile/*` },
      { Sid: "AllowAPIServerEndpointDiscovery", Effect: "Allow", Action: "eks:DescribeCluster", Resource: p.clusterArn },
    ],
  });
}

/** Only EventBridge, and only these rules, may send to the queue; nothing reaches it without TLS. */
export function interruptionQueuePolicy(queueArn: string, ruleArns: string[]): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "EventBridgeRulesOnly",
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: queueArn,
        Condition: { ArnEquals: { "aws:SourceArn": ruleArns } },
      },
      {
        Sid: "DenyWithoutTls",
        Effect: "Deny",
        Principal: "*",
        Action: "sqs:*",
        Resource: queueArn,
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  });
}
