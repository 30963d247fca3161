/**
 * What a real first `pulumi up` and the updates after it meet, checked under mocks: the same config
 * declares the same resources whoever runs it, version bumps declare what the upgrade needs, and a
 * stack file with placeholder digests is refused on a deployment.
 */
import { parse } from "yaml";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ConfigError } from "../../infra/config";
import { runProgram, type DeclaredResource, type PlanResult } from "../../scripts/plan/harness";
import { ofType, one } from "../helpers/plan";

const ROOT = path.resolve(__dirname, "../..");
const stackConfig = (stack: string, key: string) => parse(readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")).config[key];
const withCluster = (stack: string, change: object) => ({ "mlops:cluster": JSON.stringify({ ...stackConfig(stack, "mlops:cluster"), ...change }) });
const withDatabase = (stack: string, change: object) => ({ "mlops:database": JSON.stringify({ ...(stackConfig(stack, "mlops:database") ?? {}), ...change }) });

/** What the engine would diff: every resource's type, name, parent, inputs and options. */
const declared = (r: PlanResult) =>
  r.resources
    .map((x) => ({ type: x.type, name: x.name, parent: x.parent, inputs: x.inputs, protect: x.protect, dependencies: [...x.dependencies].sort() }))
    .sort((a, b) => `${a.type}::${a.name}`.localeCompare(`${b.type}::${b.name}`));

const CI_SESSION = "arn:aws:sts::123456789012:assumed-role/mlops-deploy-dev/github-actions-123";
const PERSON_SESSION = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123/alice@example.com";

describe("whoever runs it", () => {
  test.each(["dev", "prod"])("%s: the CI deploy role and a person declare identical resources, cluster access included", async (stack) => {
    const [ci, person] = [await runProgram({ stack, callerArn: CI_SESSION }), await runProgram({ stack, callerArn: PERSON_SESSION })];
    expect(declared(person)).toEqual(declared(ci));
    const principals = ofType(ci, "aws:eks/accessEntry:AccessEntry").map((e) => e.inputs.principalArn);
    expect(principals).not.toContain(expect.stringContaining("AWSReservedSSO"));
    expect(principals).not.toContain(expect.stringContaining(":assumed-role/"));
  });

  test("a cluster without configured admins is refused: nobody could deploy the workloads", async () => {
    const error = await runProgram({ stack: "dev", overrides: withCluster("dev", { adminPrincipalArns: [] }) }).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.problems).toEqual([expect.stringMatching(/^mlops:cluster\.adminPrincipalArns: got \[\]; list at least the role that runs `pulumi up`/)]);
  });
});

describe("raising the PostgreSQL major version", () => {
  let before: PlanResult;
  let after: PlanResult;
  beforeAll(async () => {
    before = await runProgram({ stack: "prod" });
    after = await runProgram({ stack: "prod", overrides: withDatabase("prod", { engineVersion: 17 }) });
  });
  const instance = (r: PlanResult) => one(r, "aws:rds/instance:Instance");
  const group = (r: PlanResult) => one(r, "aws:rds/parameterGroup:ParameterGroup");

  test("RDS may upgrade in place, and the parameter group of the new family replaces the old one in the same change", () => {
    expect(instance(after).inputs).toMatchObject({ engineVersion: "17", allowMajorVersionUpgrade: true, applyImmediately: true });
    expect(group(before).inputs.family).toBe("postgres16");
    expect(group(after).inputs.family).toBe("postgres17");
    // A new resource name: created before the instance moves, the old group deleted after it.
    expect(group(after).name).not.toBe(group(before).name);
    expect(instance(after).inputs.parameterGroupName).toBe(group(after).state.name);
    expect(instance(after).dependencies).toContain(group(after).urn);
  });

  test("the final snapshot identifier is stable across an in-place upgrade and names the instance", () => {
    expect(instance(after).inputs.finalSnapshotIdentifier).toBe(instance(before).inputs.finalSnapshotIdentifier);
    expect(instance(before).inputs.finalSnapshotIdentifier).toMatch(/^mlops-prod-db-postgres-final-[0-9a-f]{8}$/);
    // Its suffix is renewed exactly when the instance would be replaced: the keepers are the replacing properties.
    const suffix = one(before, "random:index/randomId:RandomId");
    expect(Object.keys(suffix.inputs.keepers).sort()).toEqual(["dbName", "engine", "identifier", "kmsKeyId", "username"]);
  });
});

describe("raising the Kubernetes version", () => {
  let after: PlanResult;
  beforeAll(async () => {
    after = await runProgram({ stack: "dev", overrides: withCluster("dev", { kubernetesVersion: "1.34" }) });
  });

  test("the control plane, the node group and every add-on move together, add-ons at the build EKS names for 1.34", () => {
    expect(one(after, "aws:eks/cluster:Cluster").inputs.version).toBe("1.34");
    const nodes = one(after, "aws:eks/nodeGroup:NodeGroup");
    expect(nodes.inputs.version).toBe("1.34");
    expect(nodes.dependencies).toContain(one(after, "aws:eks/cluster:Cluster").urn);
    const addons = ofType(after, "aws:eks/addon:Addon");
    expect(addons).toHaveLength(5);
    for (const a of addons) expect([a.inputs.addonName, a.inputs.addonVersion]).toEqual([a.inputs.addonName, "v1.34.0-eksbuild.1"]);
  });
});

describe("reaching the API server", () => {
  test("a private-only endpoint opens 443 to the configured runner networks and nothing public", async () => {
    const r = await runProgram({ stack: "prod", overrides: withCluster("prod", { endpointPublicAccess: false, publicAccessCidrs: [], privateAccessCidrs: ["10.30.224.0/24"] }) });
    expect(one(r, "aws:eks/cluster:Cluster").inputs.vpcConfig).toMatchObject({ endpointPrivateAccess: true, endpointPublicAccess: false });
    expect(one(r, "aws:eks/cluster:Cluster").inputs.vpcConfig.publicAccessCidrs).toBeUndefined();
    const rule = one(r, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
    expect(rule.inputs).toMatchObject({ securityGroupId: "sg-cluster-mlops-prod-cluster-eks", cidrIpv4: "10.30.224.0/24", ipProtocol: "tcp", fromPort: 443, toPort: 443 });
  });

  test("a public endpoint needs its CIDRs, and a private one refuses them", async () => {
    const open = await runProgram({ stack: "dev", overrides: withCluster("dev", { publicAccessCidrs: [] }) }).catch((e) => e);
    expect(open.problems).toEqual([expect.stringMatching(/^mlops:cluster\.publicAccessCidrs: got \[\]; the public endpoint is on: list the CIDRs/)]);
    const contradicting = await runProgram({ stack: "dev", overrides: withCluster("dev", { endpointPublicAccess: false }) }).catch((e) => e);
    expect(contradicting.problems).toEqual([expect.stringMatching(/^mlops:cluster\.publicAccessCidrs: .*the public endpoint is off/)]);
  });
});

describe("images in prod", () => {
  test("a deployment with the stack file's placeholder digests is refused, naming each image and how CI pins them", async () => {
    const error = await runProgram({ stack: "prod", preview: false }).catch((e) => e);
    expect(error).toBeInstanceOf(ConfigError);
    // serving, drift, monitor, the platform API and MLflow.
    expect(error.problems).toHaveLength(5);
    expect(error.problems.map((p: string) => /^mlops:images\.(\w+)\.digest/.exec(p)?.[1])).toEqual(["serving", "drift", "monitor", "api", "mlflow"]);
    expect(error.problems[0]).toMatch(/^mlops:images\.serving\.digest: got "pinned-by-ci"; a real deployment needs the digest of an image that exists\. .*scripts\/ci\/pin-images\.sh/);
  });

  test("with pinned digests the same deployment goes ahead and pulls exactly them", async () => {
    const digest = `sha256:${"ab".repeat(32)}`;
    const images = { ...stackConfig("prod", "mlops:images"), serving: { digest }, drift: { digest }, monitor: { digest }, api: { digest }, mlflow: { digest } };
    // A real deployment also needs the receivers' credentials (Pulumi secrets of the stack, not in its file).
    const alerting = stackConfig("prod", "mlops:alerting") as { receivers: { pagerduty?: Record<string, string>; slack?: Record<string, string> }[] };
    for (const r of alerting.receivers) {
      if (r.pagerduty) r.pagerduty.routingKey = "pd-routing-key-0123456789";
      if (r.slack) r.slack.webhookUrl = "https://hooks.slack.com/services/T000/B000/XXXX";
    }
    const r = await runProgram({ stack: "prod", preview: false, overrides: { "mlops:images": JSON.stringify(images) }, secretOverrides: { "mlops:alerting": JSON.stringify(alerting) } });
    const serving = ofType(r, "kubernetes:apps/v1:Deployment").find((d) => d.inputs.metadata.name === "serving-fraud-detector")!;
    expect(serving.inputs.spec.template.spec.containers[0].image).toMatch(new RegExp(`/serving:0\\.1\\.0@${digest}$`));
    const api = ofType(r, "kubernetes:apps/v1:Deployment").find((d) => d.inputs.metadata.name === "platform-api")!;
    expect(api.inputs.spec.template.spec.containers[0].image).toMatch(new RegExp(`/api:0\\.1\\.0@${digest}$`));
  });
});

describe("ordering and waiting", () => {
  let r: PlanResult;
  beforeAll(async () => {
    r = await runProgram({ stack: "dev" });
  });
  const byName = (type: string, name: string): DeclaredResource => ofType(r, type).find((x) => x.inputs.metadata?.name?.startsWith(name))!;

  test("Pulumi waits for a Job as long as the Job may run (the MLflow migration may take 30 minutes)", () => {
    const migration = byName("kubernetes:batch/v1:Job", "mlflow-db-upgrade");
    expect(migration.inputs.spec.activeDeadlineSeconds).toBe(1800);
    expect(migration.customTimeouts).toEqual({ create: "35m", update: "35m" });
    for (const job of ofType(r, "kubernetes:batch/v1:Job")) {
      const minutes = Number(job.customTimeouts?.create?.replace("m", ""));
      expect(minutes * 60).toBeGreaterThan(job.inputs.spec.activeDeadlineSeconds);
    }
  });

  test("the monitoring chart waits for the StorageClass its volume claims name", () => {
    // The foundation installs charts of its own (Karpenter on AWS): the monitoring one is kube-prometheus-stack.
    const release = ofType(r, "kubernetes:helm.sh/v3:Release").find((x) => x.inputs.chart === "kube-prometheus-stack")!;
    const storageClass = one(r, "kubernetes:storage.k8s.io/v1:StorageClass");
    expect(release.dependencies).toContain(storageClass.urn);
    expect(release.inputs.values.prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.storageClassName).toBe(storageClass.inputs.metadata.name);
  });
});
