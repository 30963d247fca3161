import type { ResourceValidationArgs } from "@pulumi/policy";
import { resourceRule } from "../support/define";
import { platform } from "../support/frameworks";
import { cloudOf } from "../support/types";

/** Resource types of the platform that take tags (AWS, Azure) or labels (GCP), even when the program sets none. */
const TAGGABLE = new Set([
  "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip", "aws:ec2/internetGateway:InternetGateway",
  "aws:ec2/routeTable:RouteTable", "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "aws:ec2/vpcEndpoint:VpcEndpoint",
  "aws:ec2/launchTemplate:LaunchTemplate", "aws:ec2/flowLog:FlowLog", "aws:ec2/instance:Instance", "aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup",
  "aws:eks/addon:Addon", "aws:eks/accessEntry:AccessEntry", "aws:rds/instance:Instance", "aws:rds/cluster:Cluster", "aws:rds/subnetGroup:SubnetGroup",
  "aws:rds/parameterGroup:ParameterGroup", "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2", "aws:kms/key:Key", "aws:iam/role:Role", "aws:iam/policy:Policy",
  "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws:cloudwatch/logGroup:LogGroup", "aws:ecr/repository:Repository", "aws:secretsmanager/secret:Secret",
  "gcp:storage/bucket:Bucket", "gcp:container/cluster:Cluster", "gcp:container/nodePool:NodePool", "gcp:sql/databaseInstance:DatabaseInstance",
  "gcp:kms/cryptoKey:CryptoKey", "gcp:compute/instance:Instance", "gcp:artifactregistry/repository:Repository",
  "azure-native:resources:ResourceGroup", "azure-native:storage:StorageAccount", "azure-native:containerservice:ManagedCluster",
  "azure-native:dbforpostgresql:Server", "azure-native:keyvault:Vault", "azure-native:network:VirtualNetwork",
  "azure-native:managedidentity:UserAssignedIdentity", "azure-native:operationalinsights:Workspace",
]);

/** Where a resource keeps its tags: GCP calls them labels, and a few GCP types nest them. */
function tagsOf(type: string, props: Record<string, any>): { key: string; tags: Record<string, string> | undefined; present: boolean } {
  switch (type) {
    case "gcp:container/cluster:Cluster":
      return { key: "resourceLabels", tags: props.resourceLabels, present: "resourceLabels" in props };
    case "gcp:container/nodePool:NodePool":
      return { key: "nodeConfig.resourceLabels", tags: props.nodeConfig?.resourceLabels, present: Boolean(props.nodeConfig?.resourceLabels) };
    case "gcp:sql/databaseInstance:DatabaseInstance":
      return { key: "settings.userLabels", tags: props.settings?.userLabels, present: Boolean(props.settings?.userLabels) };
  }
  const key = cloudOf(type) === "gcp" ? "labels" : "tags";
  return { key, tags: props[key], present: key in props };
}

/** Tags every resource of the provider gets (AWS defaultTags, GCP defaultLabels); provider inputs may arrive as JSON text. */
function providerTags(args: ResourceValidationArgs): Record<string, string> {
  const props = args.provider?.props ?? {};
  const parse = (v: unknown) => (typeof v === "string" ? safeJson(v) : v);
  const aws = parse(props.defaultTags) as { tags?: Record<string, string> } | undefined;
  const gcp = parse(props.defaultLabels) as Record<string, string> | undefined;
  return { ...(aws?.tags ?? {}), ...(gcp ?? {}) };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

interface Params {
  requiredTags: string[];
}

export const tagsCloudRequired = resourceRule(
  {
    name: "tags-cloud-required",
    description:
      "Every taggable cloud resource carries the tags project, environment, team, cost-center and managed-by=pulumi (labels on GCP; provider default tags count), so cost reports, ownership and clean-up never guess. When the stack has an environment tag, the resources' environment tag must match it, which catches a production stack deploying resources labelled dev.",
    severity: "low",
    framework: platform("Cost allocation and ownership tags"),
    clouds: ["aws", "gcp", "azure"],
    enforcementLevel: "advisory",
    configSchema: {
      properties: { requiredTags: { type: "array", items: { type: "string" }, default: ["project", "environment", "team", "cost-center", "managed-by"] } },
    },
    remediationSteps: "Pass the stack's standard tags (infra/tags.ts: project, environment, managed-by plus mlops:tags with team and cost-center) to every taggable resource, or set them once as the provider's defaultTags.",
  },
  [
    (args, report) => {
      const cloud = cloudOf(args.type);
      if (cloud !== "aws" && cloud !== "gcp" && cloud !== "azure") return args.notApplicable("not a cloud resource");
      const found = tagsOf(args.type, args.props);
      if (!TAGGABLE.has(args.type) && !found.present) return args.notApplicable("the resource type takes no tags");
      const tags = { ...providerTags(args), ...(found.tags ?? {}) };
      const { requiredTags } = args.getConfig<Params>();
      const missing = requiredTags.filter((t) => !tags[t]);
      if (missing.length) report(`${args.type.split(":").pop()} "${args.name}" lacks the ${found.key} ${missing.join(", ")}`);
      if (tags["managed-by"] && tags["managed-by"] !== "pulumi") report(`${args.type.split(":").pop()} "${args.name}" has ${found.key}.managed-by "${tags["managed-by"]}", expected "pulumi"`);
      const environment = args.stackTags.get("environment");
      if (environment && tags.environment && tags.environment !== environment) report(`${args.type.split(":").pop()} "${args.name}" is tagged environment "${tags.environment}" in the stack tagged environment "${environment}"`);
    },
  ],
);
