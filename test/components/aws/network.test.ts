import { Network, subnetCidr } from "../../../components/aws/network";
import type { DeclaredResource, PlanResult } from "../../../scripts/plan/harness";
import { ofType, one, plan } from "../../helpers/plan";
import { declare, documentOf, idOf, named, TEST_TAGS } from "./support";

const T = {
  vpc: "aws:ec2/vpc:Vpc",
  subnet: "aws:ec2/subnet:Subnet",
  igw: "aws:ec2/internetGateway:InternetGateway",
  nat: "aws:ec2/natGateway:NatGateway",
  eip: "aws:ec2/eip:Eip",
  rt: "aws:ec2/routeTable:RouteTable",
  rta: "aws:ec2/routeTableAssociation:RouteTableAssociation",
  endpoint: "aws:ec2/vpcEndpoint:VpcEndpoint",
  flowLog: "aws:ec2/flowLog:FlowLog",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  kmsKey: "aws:kms/key:Key",
};

/** 10.20.16.0/20 -> [first, last] address as integers. */
function range(cidr: string): [number, number] {
  const [base, bits] = cidr.split("/");
  const addr = base.split(".").reduce((a, o) => a * 256 + Number(o), 0);
  return [addr, addr + 2 ** (32 - Number(bits)) - 1];
}

const subnetsOf = (r: PlanResult, tier: string) => ofType(r, T.subnet).filter((s) => s.inputs.tags.tier === tier);
const routeTableOf = (r: PlanResult, subnet: DeclaredResource): DeclaredResource => {
  const assoc = ofType(r, T.rta).filter((a) => a.inputs.subnetId === idOf(subnet));
  expect(assoc).toHaveLength(1);
  return ofType(r, T.rt).find((t) => idOf(t) === assoc[0].inputs.routeTableId)!;
};
const defaultRoute = (table: DeclaredResource) => (table.inputs.routes ?? []).find((route: any) => route.cidrBlock === "0.0.0.0/0");

const stacks: Record<string, PlanResult> = {};
beforeAll(async () => {
  stacks.dev = await plan({ stack: "dev" });
  stacks.prod = await plan({ stack: "prod" });
});

describe.each(["dev", "prod"])("%s stack: network", (stack) => {
  let r: PlanResult;
  let network: { vpcCidr: string; availabilityZoneCount: number };
  beforeAll(() => {
    r = stacks[stack];
    network = JSON.parse(r.config["mlops:network"]);
  });

  test("one VPC with the configured block and DNS for the cluster's endpoints", () => {
    expect(one(r, T.vpc).inputs).toMatchObject({ cidrBlock: network.vpcCidr, enableDnsHostnames: true, enableDnsSupport: true });
  });

  test("public, private and database subnets in each of 3 AZs, inside the VPC block, never overlapping", () => {
    const subnets = ofType(r, T.subnet);
    expect(network.availabilityZoneCount).toBe(3);
    for (const tier of ["public", "private", "database"]) {
      const zones = subnetsOf(r, tier).map((s) => s.inputs.availabilityZone);
      expect(new Set(zones)).toEqual(new Set(["us-west-2a", "us-west-2b", "us-west-2c"]));
    }
    expect(subnets).toHaveLength(9);
    const [vpcStart, vpcEnd] = range(network.vpcCidr);
    const ranges = subnets.map((s) => range(s.inputs.cidrBlock)).sort((a, b) => a[0] - b[0]);
    for (const [start, end] of ranges) expect(start >= vpcStart && end <= vpcEnd).toBe(true);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBeGreaterThan(ranges[i - 1][1]);
    for (const s of subnets) expect(s.inputs.mapPublicIpOnLaunch).toBe(false);
  });

  test("subnets tagged for load balancers and EKS discovery; database subnets for neither", () => {
    const shared = { [`kubernetes.io/cluster/mlops-${stack}`]: "shared" };
    for (const s of subnetsOf(r, "public")) expect(s.inputs.tags).toMatchObject({ ...shared, "kubernetes.io/role/elb": "1" });
    for (const s of subnetsOf(r, "private")) expect(s.inputs.tags).toMatchObject({ ...shared, "kubernetes.io/role/internal-elb": "1" });
    for (const s of subnetsOf(r, "public")) expect(s.inputs.tags["kubernetes.io/role/internal-elb"]).toBeUndefined();
    for (const s of subnetsOf(r, "private")) expect(s.inputs.tags["kubernetes.io/role/elb"]).toBeUndefined();
    for (const s of subnetsOf(r, "database")) expect(Object.keys(s.inputs.tags).filter((k) => k.startsWith("kubernetes.io/"))).toEqual([]);
  });

  test("public subnets route to the internet gateway of the VPC", () => {
    const igw = one(r, T.igw);
    expect(igw.inputs.vpcId).toBe(idOf(one(r, T.vpc)));
    for (const s of subnetsOf(r, "public")) expect(defaultRoute(routeTableOf(r, s))).toEqual({ cidrBlock: "0.0.0.0/0", gatewayId: idOf(igw) });
  });

  test("private subnets leave through a NAT gateway with an Elastic IP in a public subnet", () => {
    const publicIds = subnetsOf(r, "public").map(idOf);
    const eips = ofType(r, T.eip).map(idOf);
    for (const nat of ofType(r, T.nat)) {
      expect(publicIds).toContain(nat.inputs.subnetId);
      expect(eips).toContain(nat.inputs.allocationId);
    }
    for (const s of subnetsOf(r, "private")) {
      const route = defaultRoute(routeTableOf(r, s));
      expect(ofType(r, T.nat).map(idOf)).toContain(route.natGatewayId);
      expect(route.gatewayId).toBeUndefined();
    }
  });

  test("database subnets have no route out of the VPC", () => {
    for (const s of subnetsOf(r, "database")) expect(routeTableOf(r, s).inputs.routes ?? []).toEqual([]);
  });

  test("an S3 gateway endpoint serves exactly the private route tables", () => {
    const endpoint = one(r, T.endpoint).inputs;
    expect(endpoint).toMatchObject({ vpcEndpointType: "Gateway", serviceName: "com.amazonaws.us-west-2.s3", vpcId: idOf(one(r, T.vpc)) });
    const privateTables = subnetsOf(r, "private").map((s) => idOf(routeTableOf(r, s)));
    expect([...endpoint.routeTableIds].sort()).toEqual([...privateTables].sort());
  });

  test("the VPC's default security group allows nothing", () => {
    const sg = one(r, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup").inputs;
    expect(sg.vpcId).toBe(idOf(one(r, T.vpc)));
    expect(sg.ingress).toEqual([]);
    expect(sg.egress).toEqual([]);
  });
});

describe("NAT per environment", () => {
  test("dev: one NAT gateway that every private subnet shares", () => {
    const r = stacks.dev;
    const nat = one(r, T.nat);
    for (const s of subnetsOf(r, "private")) expect(defaultRoute(routeTableOf(r, s)).natGatewayId).toBe(idOf(nat));
  });

  test("prod: one NAT gateway per AZ, each private subnet routed through the one in its own AZ", () => {
    const r = stacks.prod;
    expect(ofType(r, T.nat)).toHaveLength(3);
    const azOfSubnet = new Map(ofType(r, T.subnet).map((s) => [idOf(s), s.inputs.availabilityZone]));
    const azOfNat = new Map(ofType(r, T.nat).map((n) => [idOf(n), azOfSubnet.get(n.inputs.subnetId)]));
    expect(new Set(azOfNat.values()).size).toBe(3);
    for (const s of subnetsOf(r, "private")) expect(azOfNat.get(defaultRoute(routeTableOf(r, s)).natGatewayId)).toBe(s.inputs.availabilityZone);
  });
});

describe("VPC flow logs", () => {
  test("dev has none", () => {
    expect(ofType(stacks.dev, T.flowLog)).toEqual([]);
    expect(ofType(stacks.dev, T.logGroup).filter((g) => g.name.includes("flow"))).toEqual([]);
  });

  test("prod logs all traffic of the VPC to a KMS-encrypted log group kept 90 days", () => {
    const r = stacks.prod;
    const flow = one(r, T.flowLog).inputs;
    const group = named(r, T.logGroup, "flow-logs");
    expect(flow).toMatchObject({ vpcId: idOf(one(r, T.vpc)), trafficType: "ALL", logDestinationType: "cloud-watch-logs", logDestination: group.state.arn });
    expect(group.inputs.retentionInDays).toBe(90);
    const key = ofType(r, T.kmsKey).find((k) => k.state.arn === group.inputs.kmsKeyId)!;
    expect(key.inputs.enableKeyRotation).toBe(true);
    // The key lets CloudWatch Logs use it, for this account's log groups only.
    const logsUse = documentOf(key).Statement.find((s) => s.Principal?.Service === "logs.us-west-2.amazonaws.com")!;
    expect(logsUse.Condition).toEqual({ ArnLike: { "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-west-2:123456789012:log-group:*" } });
  });

  test("prod's flow-log role: only the flow-logs service of this account may assume it, and it writes only to that group", () => {
    const r = stacks.prod;
    const role = named(r, T.role, "flow-logs-role");
    expect(one(r, T.flowLog).inputs.iamRoleArn).toBe(role.state.arn);
    const trust = documentOf(role, "assumeRolePolicy").Statement;
    expect(trust).toEqual([
      { Effect: "Allow", Principal: { Service: "vpc-flow-logs.amazonaws.com" }, Action: "sts:AssumeRole", Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } } },
    ]);
    const group = named(r, T.logGroup, "flow-logs").state.arn;
    const policy = ofType(r, T.rolePolicy).find((p) => p.inputs.role === idOf(role))!;
    const [write, describe] = documentOf(policy).Statement;
    // The permissions AWS documents for a flow-log role; everything that writes is limited to this group.
    expect(write).toEqual({ Effect: "Allow", Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"], Resource: [group, `${group}:*`] });
    expect(describe).toEqual({ Effect: "Allow", Action: "logs:DescribeLogGroups", Resource: "*" });
    expect(documentOf(policy).Statement).toHaveLength(2);
  });
});

describe("the Network component with arguments the stacks do not use", () => {
  let r: PlanResult;
  beforeAll(async () => {
    r = await declare(() => {
      new Network("two", {
        vpcCidr: "10.50.0.0/20",
        availabilityZoneCount: 2,
        natGateways: "perAz",
        flowLogs: true,
        logRetentionDays: 30,
        logsKmsKeyArn: "arn:aws:kms:us-west-2:123456789012:key/test",
        clusterName: "c1",
        tags: TEST_TAGS,
      });
      new Network("four", { vpcCidr: "10.60.0.0/16", availabilityZoneCount: 4, natGateways: "single", flowLogs: false, logRetentionDays: 7, clusterName: "c2", tags: TEST_TAGS });
    });
  });
  const of = (prefix: string, type: string) => ofType(r, type).filter((x) => x.name.startsWith(`${prefix}-`));

  test("two AZs with a NAT each: six subnets carved from a /20, two NAT gateways, two private route tables", () => {
    expect(of("two", T.subnet).map((s) => s.inputs.cidrBlock).sort()).toEqual(
      ["10.50.0.0/24", "10.50.1.0/24", "10.50.2.0/24", "10.50.3.0/24", "10.50.4.0/24", "10.50.5.0/24"].sort(),
    );
    expect(of("two", T.nat)).toHaveLength(2);
    const privateNats = of("two", T.rt).filter((t) => t.name.includes("private-rt")).map((t) => defaultRoute(t).natGatewayId);
    expect(new Set(privateNats).size).toBe(2);
    expect(of("two", T.subnet).filter((s) => s.inputs.tags["kubernetes.io/cluster/c1"] === "shared")).toHaveLength(4);
  });

  test("flow logs follow the argument, with the given retention and key", () => {
    const group = of("two", T.logGroup)[0].inputs;
    expect(group).toMatchObject({ retentionInDays: 30, kmsKeyId: "arn:aws:kms:us-west-2:123456789012:key/test" });
    expect(of("two", T.flowLog)).toHaveLength(1);
    expect(of("four", T.flowLog)).toHaveLength(0);
  });

  test("four AZs with one NAT: twelve subnets, every private route table on the same gateway", () => {
    expect(of("four", T.subnet)).toHaveLength(12);
    expect(new Set(of("four", T.subnet).map((s) => s.inputs.availabilityZone)).size).toBe(4);
    const nat = of("four", T.nat);
    expect(nat).toHaveLength(1);
    const privateTables = of("four", T.rt).filter((t) => t.name.includes("private-rt"));
    expect(privateTables).toHaveLength(4);
    for (const t of privateTables) expect(defaultRoute(t).natGatewayId).toBe(idOf(nat[0]));
  });
});

describe("subnetCidr", () => {
  test("carves /20 blocks from a /16 and /24 blocks from a /20, in order", () => {
    expect([0, 1, 2, 15].map((i) => subnetCidr("10.20.0.0/16", i))).toEqual(["10.20.0.0/20", "10.20.16.0/20", "10.20.32.0/20", "10.20.240.0/20"]);
    expect(subnetCidr("10.50.0.0/20", 5)).toBe("10.50.5.0/24");
    expect(subnetCidr("172.16.0.0/12", 1)).toBe("172.17.0.0/16");
  });

  test("refuses a block too small for the subnets asked for, naming the key", () => {
    expect(() => subnetCidr("10.20.0.0/16", 16)).toThrow("mlops:network.vpcCidr 10.20.0.0/16 is too small for 17 subnets");
  });
});
