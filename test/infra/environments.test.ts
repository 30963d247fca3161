/**
 * The dev/prod table (PRODUCT.md "Environments", issue 2) on what the real stacks declare, plus what
 * holds for every stack: standard tags, the stack outputs, the component tree. Security properties
 * per area live in test/components/aws/.
 */
import { PROFILES, resolveProfile } from "../../infra/profiles";
import { AWS_PROFILES, resolveAwsProfile } from "../../infra/clouds/aws/settings";
import { parseConfig } from "../../infra/config";
import type { DeclaredResource, PlanResult } from "../../scripts/plan/harness";
import { readStackConfig } from "../../scripts/plan/stack-config";
import { ofType, one, plan } from "../helpers/plan";
import { standardTags, takesTags } from "../components/aws/support";

const T = {
  nat: "aws:ec2/natGateway:NatGateway",
  nodeGroup: "aws:eks/nodeGroup:NodeGroup",
  db: "aws:rds/instance:Instance",
  bucket: "aws:s3/bucket:Bucket",
  lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  flowLog: "aws:ec2/flowLog:FlowLog",
  kmsKey: "aws:kms/key:Key",
};

let dev: PlanResult;
let prod: PlanResult;
/** MLflow's artifact bucket (the stack also has Velero's backup bucket: test/infra/backups-and-logs.test.ts). */
const artifactBucket = (r: PlanResult) => ofType(r, T.bucket).find((b) => b.name.endsWith("-artifacts-bucket"))!;
beforeAll(async () => {
  dev = await plan({ stack: "dev" });
  prod = await plan({ stack: "prod" });
});

describe("the dev/prod table", () => {
  test("NAT gateways: one in dev, one per AZ in prod", () => {
    expect(ofType(dev, T.nat)).toHaveLength(1);
    expect(ofType(prod, T.nat)).toHaveLength(3);
  });

  test("node group: spot and small in dev; on-demand only, and larger, in prod", () => {
    const d = one(dev, T.nodeGroup).inputs;
    const p = one(prod, T.nodeGroup).inputs;
    expect(d.capacityType).toBe("SPOT");
    expect(p.capacityType).toBe("ON_DEMAND");
    const scaling = (n: { min: number; max: number; desired: number }) => ({ minSize: n.min, maxSize: n.max, desiredSize: n.desired });
    expect(d.scalingConfig).toEqual(scaling(AWS_PROFILES.dev.cluster.nodeCount));
    expect(p.scalingConfig).toEqual(scaling(AWS_PROFILES.prod.cluster.nodeCount));
    expect(d.instanceTypes).toEqual(AWS_PROFILES.dev.cluster.instanceTypes);
    expect(p.instanceTypes).toEqual(AWS_PROFILES.prod.cluster.instanceTypes);
    expect(p.scalingConfig.minSize).toBeGreaterThan(d.scalingConfig.minSize);
    expect(p.scalingConfig.maxSize).toBeGreaterThan(d.scalingConfig.maxSize);
  });

  test("spot capacity is a dev-only profile choice", () => {
    expect(PROFILES.dev.cluster.spot).toBe(true);
    expect(PROFILES.prod.cluster.spot).toBe(false);
    expect(AWS_PROFILES.dev.cluster.capacityType).toBe("SPOT");
    expect(AWS_PROFILES.prod.cluster.capacityType).toBe("ON_DEMAND");
  });

  test("database: single AZ in dev, multi-AZ in prod", () => {
    expect(one(dev, T.db).inputs.multiAz).toBe(false);
    expect(one(prod, T.db).inputs.multiAz).toBe(true);
  });

  test("database backups: at least 1 day in dev, at least 14 in prod", () => {
    expect(one(dev, T.db).inputs.backupRetentionPeriod).toBeGreaterThanOrEqual(1);
    expect(one(prod, T.db).inputs.backupRetentionPeriod).toBeGreaterThanOrEqual(14);
  });

  test("deletion protection and a final snapshot in prod only", () => {
    const d = one(dev, T.db);
    const p = one(prod, T.db);
    expect(d.inputs).toMatchObject({ deletionProtection: false, skipFinalSnapshot: true });
    expect(d.inputs.finalSnapshotIdentifier).toBeUndefined();
    expect(d.protect).toBe(false);
    expect(p.inputs).toMatchObject({ deletionProtection: true, skipFinalSnapshot: false, finalSnapshotIdentifier: expect.stringMatching(/^mlops-prod-db-postgres-final-[0-9a-f]{8}$/) });
    expect(p.protect).toBe(true);
  });

  test("Performance Insights in prod only, encrypted with the database's key", () => {
    expect(one(dev, T.db).inputs.performanceInsightsEnabled).toBe(false);
    const p = one(prod, T.db).inputs;
    expect(p).toMatchObject({ performanceInsightsEnabled: true, performanceInsightsKmsKeyId: p.kmsKeyId, performanceInsightsRetentionPeriod: 7 });
  });

  test("bucket force-destroy in dev only", () => {
    expect(artifactBucket(dev).inputs.forceDestroy).toBe(true);
    expect(artifactBucket(prod).inputs.forceDestroy).toBe(false);
  });

  test("cold storage (Glacier Instant Retrieval) in prod only", () => {
    const transitions = (r: PlanResult) => ofType(r, T.lifecycle).find((l) => l.inputs.bucket === artifactBucket(r).state.bucket)!.inputs.rules.flatMap((x: any) => x.transitions ?? []);
    expect(transitions(dev)).toEqual([]);
    expect(transitions(prod)).toEqual([{ days: 90, storageClass: "GLACIER_IR" }]);
  });

  test("log retention: 7 days on every log group in dev, 90 in prod, each KMS-encrypted", () => {
    const retention = (r: PlanResult) => ofType(r, T.logGroup).map((g) => [g.inputs.name, g.inputs.retentionInDays]);
    expect(ofType(dev, T.logGroup).length).toBeGreaterThanOrEqual(3);
    for (const [name, days] of retention(dev)) expect([name, days]).toEqual([name, 7]);
    for (const [name, days] of retention(prod)) expect([name, days]).toEqual([name, 90]);
    for (const r of [dev, prod]) for (const g of ofType(r, T.logGroup)) expect(ofType(r, T.kmsKey).map((k) => k.state.arn)).toContain(g.inputs.kmsKeyId);
  });

  test("VPC flow logs in prod only", () => {
    expect(ofType(dev, T.flowLog)).toHaveLength(0);
    expect(ofType(prod, T.flowLog)).toHaveLength(1);
  });
});

describe("stack config overrides reach the foundation", () => {
  test("node instance types, node count and database sizes from mlops:cluster and mlops:database", async () => {
    const cluster = { ...JSON.parse(readStackConfig("prod").config["mlops:cluster"]), nodeInstanceTypes: ["m7g.2xlarge"], nodeCount: { min: 4, max: 9, desired: 5 } };
    const r = await plan({
      stack: "prod",
      overrides: { "mlops:cluster": JSON.stringify(cluster), "mlops:database": JSON.stringify({ instanceClass: "db.r7g.xlarge", allocatedStorageGb: 400, backupRetentionDays: 30, engineVersion: 17 }) },
    });
    expect(one(r, T.nodeGroup).inputs).toMatchObject({ instanceTypes: ["m7g.2xlarge"], amiType: "AL2023_ARM_64_STANDARD", scalingConfig: { minSize: 4, maxSize: 9, desiredSize: 5 } });
    expect(one(r, T.db).inputs).toMatchObject({ instanceClass: "db.r7g.xlarge", allocatedStorage: 400, maxAllocatedStorage: 800, backupRetentionPeriod: 30, engineVersion: "17" });
    expect(one(r, "aws:rds/parameterGroup:ParameterGroup").inputs.family).toBe("postgres17");
    // What the profile decides stays decided.
    expect(one(r, T.db).inputs).toMatchObject({ multiAz: true, deletionProtection: true });
  });

  test("resolveProfile keeps the environment's choices that config cannot override", () => {
    const config = parseConfig({
      environment: "dev",
      cloud: "aws",
      tags: { team: "t", "cost-center": "c" },
      cluster: { publicAccessCidrs: ["10.0.0.0/8"], adminPrincipalArns: ["arn:aws:iam::123456789012:role/deploy"], nodeCount: { min: 2, max: 2, desired: 2 } },
      images: { registry: "r.example.com", tag: "1" },
    });
    const profile = resolveProfile(config);
    if (config.cloud !== "aws") throw new Error("expected an AWS config");
    const aws = resolveAwsProfile("dev", profile, config);
    expect(aws.cluster).toEqual({ ...AWS_PROFILES.dev.cluster, nodeCount: { min: 2, max: 2, desired: 2 } });
    expect(aws.database).toEqual(AWS_PROFILES.dev.database);
    expect(profile.network).toEqual(PROFILES.dev.network);
    expect(profile.database).toEqual(PROFILES.dev.database);
    expect(profile.artifactStore).toEqual(PROFILES.dev.artifactStore);
  });
});

describe.each(["dev", "prod"])("%s: every stack", (stack) => {
  let r: PlanResult;
  beforeAll(async () => {
    r = await plan({ stack });
  });

  test("every AWS resource that takes tags carries the standard tags and a Name", () => {
    const aws = r.resources.filter((x) => x.type.startsWith("aws:") && x.custom);
    const taggable = aws.filter((x) => takesTags(x.type));
    // Sanity: the SDK reading tells the taggable types from the others.
    expect(taggable.map((x) => x.type)).toEqual(expect.arrayContaining(["aws:ec2/vpc:Vpc", "aws:eks/cluster:Cluster", "aws:rds/instance:Instance", "aws:s3/bucket:Bucket", "aws:eks/addon:Addon"]));
    expect(aws.filter((x) => !takesTags(x.type)).map((x) => x.type)).toEqual(expect.arrayContaining(["aws:s3/bucketPolicy:BucketPolicy", "aws:kms/alias:Alias", "aws:iam/rolePolicy:RolePolicy"]));
    const expected = standardTags(r);
    expect(Object.keys(expected).sort()).toEqual(["cost-center", "environment", "managed-by", "project", "team"]);
    const untagged = taggable.filter((x) => !Object.entries(expected).every(([k, v]) => x.inputs.tags?.[k] === v) || !x.inputs.tags?.Name);
    expect(untagged.map((x) => `${x.type} ${x.name}: ${JSON.stringify(x.inputs.tags)}`)).toEqual([]);
  });

  test("nodes and their volumes are tagged at launch too", () => {
    const specs = one(r, "aws:ec2/launchTemplate:LaunchTemplate").inputs.tagSpecifications;
    expect(specs.map((s: any) => s.resourceType).sort()).toEqual(["instance", "volume"]);
    for (const s of specs) expect(s.tags).toMatchObject(standardTags(r));
  });

  test("the stack outputs of the foundation, the kubeconfig a secret", () => {
    expect(r.outputs).toMatchObject({
      clusterName: `mlops-${stack}`,
      kubeconfig: expect.stringContaining('"kind":"Config"'),
      databaseEndpoint: expect.stringMatching(/^mlops-\w+-db-postgres\.[a-z0-9]+\.us-west-2\.rds\.amazonaws\.com:5432$/),
      artifactStoreUri: expect.stringMatching(/^s3:\/\/mlops-\w+-artifacts-[a-z0-9]+\/mlflow$/),
      region: "us-west-2",
      imageRegistry: "123456789012.dkr.ecr.us-west-2.amazonaws.com/mlops",
      mlflowIdentity: expect.stringMatching(/^arn:aws:iam::123456789012:role\/mlops-\w+-mlflow-irsa-role$/),
    });
    expect(r.secretOutputs).toContain("kubeconfig");
    for (const key of ["clusterName", "databaseEndpoint", "artifactStoreUri", "region", "imageRegistry", "mlflowIdentity"]) expect(r.secretOutputs).not.toContain(key);
  });

  test("components are mlops:aws:<Name>, and every cloud resource sits inside the Foundation's tree", () => {
    const components = r.resources.filter((x) => x.type.startsWith("mlops:aws:"));
    expect([...new Set(components.map((c) => c.type))].sort()).toEqual(
      ["mlops:aws:ArtifactStore", "mlops:aws:BackupStore", "mlops:aws:Cluster", "mlops:aws:ClusterLogs", "mlops:aws:Database", "mlops:aws:Foundation", "mlops:aws:ImageRegistry", "mlops:aws:Karpenter", "mlops:aws:Network", "mlops:aws:ServiceAccountRole"].sort(),
    );
    const foundation = one(r, "mlops:aws:Foundation");
    const byUrn = new Map(r.resources.map((x) => [x.urn, x]));
    const root = (x: DeclaredResource): DeclaredResource => (x.parent && byUrn.has(x.parent) ? root(byUrn.get(x.parent)!) : x);
    for (const x of r.resources.filter((y) => y.type.startsWith("aws:"))) expect([x.name, root(x).urn]).toEqual([x.name, foundation.urn]);
    // Children name their component: a resource's name starts with its parent's.
    for (const x of r.resources.filter((y) => y.parent?.includes("mlops:aws:"))) expect(x.name.startsWith(byUrn.get(x.parent!)!.name)).toBe(true);
  });
});
