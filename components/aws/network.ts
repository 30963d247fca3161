import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Tags } from "../contracts";
import { KARPENTER_DISCOVERY_TAG } from "./karpenter";

export interface NetworkArgs {
  /** The VPC's IPv4 block, e.g. 10.20.0.0/16: split into /20 subnets (public, private, database per AZ). */
  vpcCidr: string;
  availabilityZoneCount: number;
  /** One NAT gateway for the VPC, or one per availability zone so an AZ outage keeps egress. */
  natGateways: "single" | "perAz";
  /** VPC flow logs to CloudWatch Logs, KMS-encrypted. */
  flowLogs: boolean;
  logRetentionDays: number;
  logsKmsKeyArn?: pulumi.Input<string>;
  /** The EKS cluster name, for the subnet discovery tags of the load balancer controller. */
  clusterName: string;
  tags: Tags;
}

/** The VPC over N availability zones with public, private and database subnets. */
export class Network extends pulumi.ComponentResource {
  readonly vpcId: pulumi.Output<string>;
  readonly vpcCidr: string;
  readonly publicSubnetIds: pulumi.Output<string>[];
  readonly privateSubnetIds: pulumi.Output<string>[];
  readonly databaseSubnetIds: pulumi.Output<string>[];
  readonly availabilityZones: pulumi.Output<string[]>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:aws:Network", name, {}, opts);
    const parent = { parent: this };
    const tag = (suffix: string, extra: Tags = {}) => ({ ...args.tags, Name: `${name}-${suffix}`, ...extra });

    const zones = aws.getAvailabilityZonesOutput({ state: "available" }, parent).names.apply((names) => {
      if (names.length < args.availabilityZoneCount) {
        throw new Error(`the region has ${names.length} availability zones; mlops:network.availabilityZoneCount asks for ${args.availabilityZoneCount}`);
      }
      return names.slice(0, args.availabilityZoneCount);
    });
    this.availabilityZones = zones;
    this.vpcCidr = args.vpcCidr;

    const vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: args.vpcCidr, enableDnsHostnames: true, enableDnsSupport: true, tags: tag("vpc") }, parent);
    this.vpcId = vpc.id;
    // The default security group of a VPC allows all traffic between its members: take every rule away.
    new aws.ec2.DefaultSecurityGroup(`${name}-default-sg`, { vpcId: vpc.id, ingress: [], egress: [], tags: tag("default-sg") }, parent);

    const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: tag("igw") }, parent);
    const publicRoutes = new aws.ec2.RouteTable(`${name}-public-rt`, { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }], tags: tag("public-rt") }, parent);

    const azCount = args.availabilityZoneCount;
    const subnet = (tier: "public" | "private" | "database", i: number, extraTags: Tags) =>
      new aws.ec2.Subnet(
        `${name}-${tier}-${i}`,
        {
          vpcId: vpc.id,
          cidrBlock: subnetCidr(args.vpcCidr, tierOffset(tier, azCount) + i),
          availabilityZone: zones.apply((z) => z[i]),
          mapPublicIpOnLaunch: false,
          tags: tag(`${tier}-${i}`, { tier, ...extraTags }),
        },
        parent,
      );

    const clusterTag = { [`kubernetes.io/cluster/${args.clusterName}`]: "shared" };
    const publicSubnets = range(azCount).map((i) => subnet("public", i, { ...clusterTag, "kubernetes.io/role/elb": "1" }));
    // Karpenter launches nodes into the subnets carrying its discovery tag: the private ones only.
    const privateSubnets = range(azCount).map((i) => subnet("private", i, { ...clusterTag, "kubernetes.io/role/internal-elb": "1", [KARPENTER_DISCOVERY_TAG]: args.clusterName }));
    const databaseSubnets = range(azCount).map((i) => subnet("database", i, {}));
    publicSubnets.forEach((s, i) => new aws.ec2.RouteTableAssociation(`${name}-public-rta-${i}`, { subnetId: s.id, routeTableId: publicRoutes.id }, parent));

    const natCount = args.natGateways === "perAz" ? azCount : 1;
    const nats = range(natCount).map((i) => {
      const eip = new aws.ec2.Eip(`${name}-nat-eip-${i}`, { domain: "vpc", tags: tag(`nat-eip-${i}`) }, parent);
      return new aws.ec2.NatGateway(`${name}-nat-${i}`, { allocationId: eip.id, subnetId: publicSubnets[i].id, tags: tag(`nat-${i}`) }, { parent: this, dependsOn: [igw] });
    });

    // Private subnets reach the internet through their own AZ's NAT gateway when there is one.
    const privateRouteTables = range(azCount).map((i) => {
      const nat = nats[Math.min(i, natCount - 1)];
      const rt = new aws.ec2.RouteTable(`${name}-private-rt-${i}`, { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }], tags: tag(`private-rt-${i}`) }, parent);
      new aws.ec2.RouteTableAssociation(`${name}-private-rta-${i}`, { subnetId: privateSubnets[i].id, routeTableId: rt.id }, parent);
      return rt;
    });
    // Database subnets have no route out of the VPC at all.
    const databaseRoutes = new aws.ec2.RouteTable(`${name}-database-rt`, { vpcId: vpc.id, tags: tag("database-rt") }, parent);
    databaseSubnets.forEach((s, i) => new aws.ec2.RouteTableAssociation(`${name}-database-rta-${i}`, { subnetId: s.id, routeTableId: databaseRoutes.id }, parent));

    // S3 traffic (MLflow artifacts, ECR layers) stays on the AWS network and off the NAT bill.
    new aws.ec2.VpcEndpoint(
      `${name}-s3-endpoint`,
      {
        vpcId: vpc.id,
        serviceName: pulumi.interpolate`com.amazonaws.${aws.getRegionOutput({}, parent).region}.s3`,
        vpcEndpointType: "Gateway",
        routeTableIds: privateRouteTables.map((rt) => rt.id),
        tags: tag("s3-endpoint"),
      },
      parent,
    );

    if (args.flowLogs) this.createFlowLogs(name, vpc, args, tag);

    this.publicSubnetIds = publicSubnets.map((s) => s.id);
    this.privateSubnetIds = privateSubnets.map((s) => s.id);
    this.databaseSubnetIds = databaseSubnets.map((s) => s.id);
    this.registerOutputs({ vpcId: this.vpcId, privateSubnetIds: this.privateSubnetIds, databaseSubnetIds: this.databaseSubnetIds });
  }

  private createFlowLogs(name: string, vpc: aws.ec2.Vpc, args: NetworkArgs, tag: (s: string) => Tags): void {
    const parent = { parent: this };
    const logGroup = new aws.cloudwatch.LogGroup(
      `${name}-flow-logs`,
      { name: `/mlops/${name}/vpc-flow-logs`, retentionInDays: args.logRetentionDays, kmsKeyId: args.logsKmsKeyArn, tags: tag("flow-logs") },
      parent,
    );
    const role = new aws.iam.Role(
      `${name}-flow-logs-role`,
      {
        assumeRolePolicy: aws.getCallerIdentityOutput({}, parent).accountId.apply(flowLogsTrustPolicy),
        tags: tag("flow-logs-role"),
      },
      parent,
    );
    new aws.iam.RolePolicy(
      `${name}-flow-logs-policy`,
      {
        role: role.id,
        policy: logGroup.arn.apply((arn) =>
          JSON.stringify({
            Version: "2012-10-17",
            // The permissions AWS documents for publishing flow logs to CloudWatch Logs.
            Statement: [
              { Effect: "Allow", Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"], Resource: [arn, `${arn}:*`] },
              { Effect: "Allow", Action: "logs:DescribeLogGroups", Resource: "*" },
            ],
          }),
        ),
      },
      parent,
    );
    new aws.ec2.FlowLog(
      `${name}-flow-log`,
      { vpcId: vpc.id, trafficType: "ALL", logDestinationType: "cloud-watch-logs", logDestination: logGroup.arn, iamRoleArn: role.arn, tags: tag("flow-log") },
      parent,
    );
  }
}

/** The flow-logs service may assume the role only for this account's VPCs (no confused deputy). */
export function flowLogsTrustPolicy(accountId: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: "vpc-flow-logs.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "aws:SourceAccount": accountId } },
      },
    ],
  });
}

/** Subnet `index` of /20 blocks carved from the VPC block (a /16 holds 16 of them). */
export function subnetCidr(vpcCidr: string, index: number): string {
  const [base, bitsText] = vpcCidr.split("/");
  const bits = Number(bitsText);
  const newBits = Math.min(bits + 4, 28);
  if (index >= 2 ** (newBits - bits)) throw new Error(`mlops:network.vpcCidr ${vpcCidr} is too small for ${index + 1} subnets`);
  const octets = base.split(".").map(Number);
  const addr = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  const subnet = (addr + index * 2 ** (32 - newBits)) >>> 0;
  return `${[24, 16, 8, 0].map((s) => (subnet >>> s) & 255).join(".")}/${newBits}`;
}

function tierOffset(tier: "public" | "private" | "database", azCount: number): number {
  return { public: 0, private: azCount, database: 2 * azCount }[tier];
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
