/**
 * The offline gate over the real stacks of the project: what `npm run plan -- <stack> --policy` and
 * `pulumi preview --policy-pack policies --policy-pack-config policies/config/<env>.json` decide.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { allRules } from "../../policies/rules";
import type { DeclaredResource, PlanResult } from "../../scripts/plan/harness";
import { runPolicies, type Violation } from "../../scripts/plan/policy-engine";
import { packConfigFor, runPolicyGate } from "../../scripts/plan/policy-gate";
import { listStacks } from "../../scripts/plan/stack-config";
import { UNKNOWN, urnOf } from "../helpers/policy-engine";
import { plan } from "../helpers/plan";

const ROOT = path.resolve(__dirname, "..", "..");
const STACKS = listStacks();
const mandatory = (violations: Violation[]) => violations.filter((v) => v.level === "mandatory");
const key = (v: Violation) => `${v.policy} ${v.resource} ${v.message}`;
/** What a change added to the stack's violations. */
const added = (before: Violation[], after: Violation[]) => {
  const seen = new Set(before.map(key));
  return after.filter((v) => !seen.has(key(v)));
};

/** Rules whose prod value is an environment decision (sizes, retention, digests), not a defect in dev. */
const ENVIRONMENT_SIZED = [
  "database-high-availability",
  "database-deletion-protection",
  "database-backup-retention",
  "storage-no-force-destroy",
  "storage-lifecycle",
  "cluster-audit-logs",
  "workloads-replicas-and-pdb",
  "workloads-image-provenance",
  "ml-challenger-traffic-share",
  // Velero's Schedule: every cloud stack has one; a local cluster keeps no backups (docs/restore.md).
  "backups-velero-schedule",
  // Keys of the stack's own (customer-managed) where the cloud encrypts with its keys by default: prod on GCP and Azure.
  "storage-encryption",
  "database-encrypted",
  "cluster-secrets-encryption",
];

describe.each(STACKS)("stack %s", (stack) => {
  test("has no mandatory violation under its own environment's policy config", async () => {
    expect(mandatory(await runPolicyGate(await plan({ stack })))).toEqual([]);
  });

  test("under the prod config, differs from prod only in environment-sized rules", async () => {
    const result = await plan({ stack });
    const violations = await runPolicies(allRules, result.resources, { config: packConfigFor("prod"), stack: { project: result.project, stack, config: result.config } });
    const environment = result.config["mlops:environment"];
    const unexpected = mandatory(violations).filter((v) => environment === "prod" || !ENVIRONMENT_SIZED.includes(v.policy));
    expect(unexpected).toEqual([]);
  });
});

test("prod has no mandatory violation left once its EKS cluster enforces NetworkPolicies (the vpc-cni add-on)", async () => {
  const prod = await plan({ stack: "prod" });
  const eks = prod.resources.find((r) => r.type === "aws:eks/cluster:Cluster")!;
  const addon: DeclaredResource = {
    type: "aws:eks/addon:Addon", name: "mlops-prod-cluster-vpc-cni", urn: urnOf("aws:eks/addon:Addon", "mlops-prod-cluster-vpc-cni"), parent: eks.parent,
    inputs: {}, state: {}, custom: true, protect: false, dependencies: [eks.urn], propertyDependencies: { clusterName: [eks.urn] }, secretPaths: [],
  };
  addon.inputs = addon.state = { clusterName: eks.inputs.name, addonName: "vpc-cni", configurationValues: JSON.stringify({ enableNetworkPolicy: "true" }), tags: eks.inputs.tags };
  expect(mandatory(await runPolicyGate({ ...prod, resources: [...prod.resources, addon] }))).toEqual([]);
});

// ---------------------------------------------------------------------------------------------
// The rules see the real program: one real-world mistake at a time in the prod plan.

function find(result: PlanResult, type: string, name: string): DeclaredResource {
  const found = result.resources.find((r) => r.type === type && (r.inputs.metadata?.name === name || r.name === name));
  if (!found) throw new Error(`the prod plan has no ${type} named ${name}`);
  return found;
}

/** The plan with one resource changed (inputs for resource rules, outputs for stack rules alike). */
function mutated(result: PlanResult, target: DeclaredResource, change: (props: Record<string, any>) => void): PlanResult {
  return {
    ...result,
    resources: result.resources.map((r) => {
      if (r !== target) return r;
      const copy = structuredClone(r);
      change(copy.inputs);
      change(copy.state);
      return copy;
    }),
  };
}
const without = (result: PlanResult, target: DeclaredResource): PlanResult => ({ ...result, resources: result.resources.filter((r) => r !== target) });
const withExtra = (result: PlanResult, extra: DeclaredResource): PlanResult => ({ ...result, resources: [...result.resources, extra] });
const container = (props: Record<string, any>) => props.spec.template.spec.containers[0];

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const mistakes: [string, string, (prod: PlanResult) => { plan: PlanResult; resource: string }][] = [
  ["a public LoadBalancer in front of a model", "workloads-no-public-load-balancer", (p) => {
    const svc = find(p, "kubernetes:core/v1:Service", "serving-fraud-detector");
    return { plan: mutated(p, svc, (s) => (s.spec.type = "LoadBalancer")), resource: svc.urn };
  }],
  ["0.0.0.0/0 on the EKS API endpoint", "cluster-no-public-api", (p) => {
    const eks = p.resources.find((r) => r.type === "aws:eks/cluster:Cluster")!;
    return { plan: mutated(p, eks, (c) => (c.vpcConfig.publicAccessCidrs = ["0.0.0.0/0"])), resource: eks.urn };
  }],
  ["an RDS instance without backups", "database-backup-retention", (p) => {
    const db = p.resources.find((r) => r.type === "aws:rds/instance:Instance")!;
    return { plan: mutated(p, db, (d) => (d.backupRetentionPeriod = 0)), resource: db.urn };
  }],
  ["a publicly accessible RDS instance", "database-not-public", (p) => {
    const db = p.resources.find((r) => r.type === "aws:rds/instance:Instance")!;
    return { plan: mutated(p, db, (d) => (d.publiclyAccessible = true)), resource: db.urn };
  }],
  ["a bucket without its public-access block", "storage-no-public-access", (p) => {
    const block = p.resources.find((r) => r.type === "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")!;
    return { plan: without(p, block), resource: p.resources.find((r) => r.type === "aws:s3/bucket:Bucket")!.urn };
  }],
  ["a database password in an env literal", "workloads-no-secret-literals", (p) => {
    const monitor = find(p, DEPLOYMENT, "monitor");
    return { plan: mutated(p, monitor, (d) => container(d).env.push({ name: "PGPASSWORD", value: "hunter2" })), resource: monitor.urn };
  }],
  ["a cluster-admin binding for a workload service account", "workloads-no-cluster-admin", (p) => {
    const binding: DeclaredResource = {
      type: "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", name: "mlflow-admin", urn: urnOf("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "mlflow-admin"),
      inputs: {}, state: {}, custom: true, protect: false, dependencies: [], propertyDependencies: {}, secretPaths: [],
    };
    binding.inputs = binding.state = { metadata: { name: "mlflow-admin" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" }, subjects: [{ kind: "ServiceAccount", name: "mlflow", namespace: "mlops" }] };
    return { plan: withExtra(p, binding), resource: binding.urn };
  }],
  ["a served model whose drift detector was removed", "ml-serving-has-drift-detector", (p) => {
    return { plan: without(p, find(p, DEPLOYMENT, "drift-fraud-detector")), resource: find(p, DEPLOYMENT, "serving-fraud-detector").urn };
  }],
  ["a serving workload whose ServiceMonitor was removed", "ml-serving-monitored", (p) => {
    return { plan: without(p, find(p, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "serving-churn-predictor")), resource: find(p, DEPLOYMENT, "serving-churn-predictor").urn };
  }],
  ["a :latest image", "workloads-image-pinned", (p) => {
    const d = find(p, DEPLOYMENT, "serving-churn-predictor");
    return { plan: mutated(p, d, (x) => (container(x).image = "ghcr.io/acme/serving:latest")), resource: d.urn };
  }],
  ["a challenger answering 30% of traffic", "ml-challenger-traffic-share", (p) => {
    const d = find(p, DEPLOYMENT, "serving-fraud-detector");
    return { plan: mutated(p, d, (x) => (container(x).env.find((e: { name: string }) => e.name === "CHALLENGER_WEIGHT").value = "30")), resource: d.urn };
  }],
  ["a model loaded from a bucket path", "ml-registry-models-only", (p) => {
    const d = find(p, DEPLOYMENT, "serving-fraud-detector");
    return { plan: mutated(p, d, (x) => (container(x).env.find((e: { name: string }) => e.name === "MODEL_URI").value = "s3://bucket/fraud/model.onnx")), resource: d.urn };
  }],
  // The platform API is covered by the existing workload rules, no rule of its own: its credentials as
  // literals, its PDB or its digest gone are each caught.
  ...(["JWT_SIGNING_KEY", "ADMIN_PASSWORD", "SERVING_API_KEY", "MONITOR_FEEDBACK_TOKEN"].map((name) => [
    `the platform API's ${name} as an env literal`,
    "workloads-no-secret-literals",
    (p: PlanResult) => {
      const api = find(p, DEPLOYMENT, "platform-api");
      const literal = (d: Record<string, any>) => {
        const e = container(d).env.find((x: { name: string }) => x.name === name);
        delete e.valueFrom;
        e.value = "a-literal-secret-value-0123456789abcdef";
      };
      return { plan: mutated(p, api, literal), resource: api.urn };
    },
  ]) as typeof mistakes),
  ["the platform API's DATABASE_URL as a literal connection string", "workloads-no-secret-literals", (p) => {
    const api = find(p, DEPLOYMENT, "platform-api");
    const literal = { name: "DATABASE_URL", value: "postgresql://mlops_api:s3cret@db.internal:5432/api?sslmode=require" };
    return { plan: mutated(p, api, (d) => (container(d).env = container(d).env.map((e: { name: string }) => (e.name === "DATABASE_URL" ? literal : e)))), resource: api.urn };
  }],
  ["the platform API without its PodDisruptionBudget", "workloads-replicas-and-pdb", (p) => {
    return { plan: without(p, find(p, "kubernetes:policy/v1:PodDisruptionBudget", "platform-api")), resource: find(p, DEPLOYMENT, "platform-api").urn };
  }],
  ["the platform API's image by tag only", "workloads-image-provenance", (p) => {
    const api = find(p, DEPLOYMENT, "platform-api");
    return { plan: mutated(p, api, (d) => (container(d).image = container(d).image.replace(/@sha256:[0-9a-f]+$/, ""))), resource: api.urn };
  }],
  ["the platform API running as root", "workloads-non-root", (p) => {
    const api = find(p, DEPLOYMENT, "platform-api");
    return { plan: mutated(p, api, (d) => (container(d).securityContext = { ...container(d).securityContext, runAsNonRoot: false, runAsUser: 0 })), resource: api.urn };
  }],
  ["a multi-replica workload whose PodDisruptionBudget was removed", "workloads-replicas-and-pdb", (p) => {
    return { plan: without(p, find(p, "kubernetes:policy/v1:PodDisruptionBudget", "serving-fraud-detector")), resource: find(p, DEPLOYMENT, "serving-fraud-detector").urn };
  }],
];

let prodBaseline: Promise<Violation[]> | undefined;

describe("the prod gate catches a real-world mistake in the real program", () => {
  test.each(mistakes)("%s (%s)", async (_mistake, policy, apply) => {
    const prod = await plan({ stack: "prod" });
    prodBaseline ??= runPolicyGate(prod);
    const baseline = await prodBaseline;
    const { plan: changed, resource } = apply(prod);
    const caught = mandatory(added(baseline, await runPolicyGate(changed)));
    expect(caught).toEqual(expect.arrayContaining([expect.objectContaining({ policy, resource, level: "mandatory" })]));
  });
});

// ---------------------------------------------------------------------------------------------
// Preview: values the cloud computes are unknown.

describe("during preview", () => {
  test("runProgram in preview mode gives the gate the same verdict", async () => {
    const [preview, update] = await Promise.all([plan({ stack: "prod", preview: true }), plan({ stack: "prod" })]);
    expect((await runPolicyGate(preview)).map(key).sort()).toEqual((await runPolicyGate(update)).map(key).sort());
  });

  test("a first deployment's unknown bucket ARN leaves the TLS-only policy unverifiable and reported; ids and key ARNs do not", async () => {
    const prod = await plan({ stack: "prod" });
    // The artifact store's bucket and Velero's backup bucket: both new on a first deployment.
    const buckets = prod.resources.filter((r) => r.type === "aws:s3/bucket:Bucket");
    expect(buckets).toHaveLength(2);
    const unknownIds = (r: DeclaredResource): DeclaredResource => {
      const copy = structuredClone(r);
      if (buckets.includes(r)) Object.assign(copy, { id: UNKNOWN, state: { ...copy.state, bucket: UNKNOWN, arn: UNKNOWN } });
      if (buckets.some((b) => r.propertyDependencies.bucket?.includes(b.urn))) copy.inputs.bucket = copy.state.bucket = UNKNOWN;
      if (r.type === "aws:s3/bucketPolicy:BucketPolicy") copy.inputs.policy = copy.state.policy = UNKNOWN;
      if (r.type === "aws:rds/instance:Instance") copy.inputs.kmsKeyId = copy.state.kmsKeyId = UNKNOWN;
      if (r.type === "aws:eks/cluster:Cluster") copy.inputs.encryptionConfig.provider.keyArn = copy.state.encryptionConfig.provider.keyArn = UNKNOWN;
      return copy;
    };
    const firstPreview = { ...prod, resources: prod.resources.map(unknownIds) };
    const changes = added(await runPolicyGate(prod), await runPolicyGate(firstPreview));
    expect(changes).toEqual(
      buckets.map((bucket) => expect.objectContaining({ policy: "storage-tls-only", resource: bucket.urn, level: "mandatory", message: expect.stringMatching(/^cannot be verified until \.policy is known/) })),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// A seeded violation, in-process and through the real CLI.

const PROD_IMAGES = parse(readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")).config["mlops:images"];
const { serving: _dropped, ...IMAGES_WITHOUT_SERVING_DIGEST } = PROD_IMAGES;
const SEED = { "mlops:images": JSON.stringify(IMAGES_WITHOUT_SERVING_DIGEST) };

test("a prod image without its digest is a mandatory violation naming the Deployment", async () => {
  const violations = await runPolicyGate(await plan({ stack: "prod", overrides: SEED }));
  const seeded = mandatory(violations).filter((v) => v.policy === "workloads-image-provenance");
  expect(seeded.map((v) => v.resource.split("::").pop()).sort()).toEqual(["serving-churn-predictor", "serving-fraud-detector"]);
  expect(seeded[0].message).toMatch(/image ".*\/serving:0\.1\.0" is not pinned by digest/);
});

function planCli(stack: string, seed?: Record<string, string>) {
  const preload = seed ? ["-r", path.join(__dirname, "support", "seed-violation.ts")] : [];
  return spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", ...preload, "scripts/plan/cli.ts", stack, "--policy"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, PLAN_SEED_OVERRIDES: JSON.stringify(seed ?? {}) },
  });
}

test("npm run plan -- prod --policy prints what the gate finds and exits 0 exactly when nothing mandatory is violated", async () => {
  const run = planCli("prod");
  const violations = await runPolicyGate(await plan({ stack: "prod" }));
  expect(run.stderr).toBe("");
  expect(run.stdout).toContain(`Policy violations: ${violations.length} (${mandatory(violations).length} mandatory)`);
  for (const v of violations) expect(run.stdout).toContain(`[${v.level}] ${v.policy}  ${v.resource}`);
  expect(run.status).toBe(mandatory(violations).length ? 1 : 0);
});

test("the same with one seeded violation exits non-zero and names it", () => {
  const run = planCli("prod", SEED);
  expect(run.status).toBe(1);
  expect(run.stdout).toMatch(/\[mandatory\] workloads-image-provenance  \S+kubernetes:apps\/v1:Deployment::serving-fraud-detector\n\s+Deployment "mlops\/serving-fraud-detector": container "serving" image "[^"]+\/serving:0\.1\.0" is not pinned by digest/);
});
