/**
 * The offline engine against the real one: the pack served by its own PolicyPack (a child process,
 * as `pulumi preview --policy-pack policies` runs it) and the offline gate must reach the same
 * verdict, violation for violation, on the real stacks and on a set of real-world mistakes.
 */
import { allRules } from "../../policies/rules";
import type { DeclaredResource } from "../../scripts/plan/harness";
import { resolveConfig, runPolicies, type Violation } from "../../scripts/plan/policy-engine";
import { packConfigFor } from "../../scripts/plan/policy-gate";
import { dependsOn, DEPLOYMENT, goodDeployment, resource, SERVICE, UNKNOWN } from "../helpers/policy-engine";
import { plan } from "../helpers/plan";
import { servePack, type ServedPack } from "./support/analyzer";

let pack: ServedPack;
beforeAll(async () => {
  pack = await servePack();
}, 60_000);
afterAll(() => pack?.stop());

const key = (v: Violation) => `${v.level} ${v.policy} ${v.resource} ${v.message}`;
const sorted = (violations: Violation[]) => violations.map(key).sort();

async function compare(resources: DeclaredResource[], environment: string, stackTags: Record<string, string> = { environment }) {
  const config = packConfigFor(environment);
  await pack.configure(resolveConfig(allRules, config, "advisory"), stackTags);
  const real = await pack.run(resources);
  const offline = await runPolicies(allRules, resources, { config, packLevel: "advisory", stackTags });
  return { real, offline };
}

test("the served pack lists every rule with its own level and severity", async () => {
  const info = await pack.info();
  expect(info.name).toBe("mlops-platform");
  expect(info.policies.map((p) => p.name)).toEqual(allRules.map((r) => r.name));
  expect(info.policies.map((p) => p.enforcementLevel)).toEqual(allRules.map((r) => r.enforcementLevel));
});

test.each(["prod", "dev"])("stack %s: the real analyzer and the offline gate report the same violations", async (stack) => {
  const result = await plan({ stack });
  const { real, offline } = await compare(result.resources, result.config["mlops:environment"]);
  expect(sorted(real)).toEqual(sorted(offline));
});

test("real-world mistakes, unknown values and stack policies: the same violations, at the same levels", async () => {
  const bucket = resource("aws:s3/bucket:Bucket", { bucketPrefix: "artifacts-" }, { name: "artifacts", id: UNKNOWN, state: { bucket: UNKNOWN } });
  const resources = [
    resource(SERVICE, { metadata: { name: "serving", namespace: "mlops" }, spec: { type: "LoadBalancer", selector: { app: "x" }, ports: [{ port: 80 }] } }, { name: "lb" }),
    resource(DEPLOYMENT, goodDeployment({ container: { image: "ghcr.io/acme/serving:latest" }, replicas: 1 }), { name: "latest" }),
    resource(DEPLOYMENT, goodDeployment({ container: { image: UNKNOWN } }), { name: "unknown-image" }),
    resource(DEPLOYMENT, goodDeployment({ env: [{ name: "MODEL_URI", value: "s3://b/m.onnx" }, { name: "DB_PASSWORD", value: "hunter2" }] }), { name: "literal" }),
    resource("aws:eks/cluster:Cluster", { vpcConfig: { publicAccessCidrs: ["0.0.0.0/0"] }, enabledClusterLogTypes: ["api"] }, { name: "eks" }),
    resource("aws:rds/instance:Instance", { engine: "postgres", engineVersion: "14", backupRetentionPeriod: 0, publiclyAccessible: true }, { name: "db" }),
    bucket,
    dependsOn(resource("aws:s3/bucketPolicy:BucketPolicy", { bucket: UNKNOWN, policy: UNKNOWN }, { name: "tls" }), "bucket", bucket),
    resource("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", { metadata: { name: "b" }, roleRef: { kind: "ClusterRole", name: "cluster-admin" }, subjects: [{ kind: "ServiceAccount", name: "serving", namespace: "mlops" }] }, { name: "crb" }),
    resource("gcp:sql/databaseInstance:DatabaseInstance", { settings: { ipConfiguration: { ipv4Enabled: true } } }, { name: "sql" }),
    resource("azure-native:storage:StorageAccount", { allowBlobPublicAccess: true }, { name: "account" }),
  ];
  for (const environment of ["prod", "dev"]) {
    const { real, offline } = await compare(resources, environment, { environment: "prod" });
    expect(real.length).toBeGreaterThan(20);
    expect(sorted(real)).toEqual(sorted(offline));
  }
});
