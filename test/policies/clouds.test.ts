/**
 * The pack on what the real SDKs declare, per cloud: each prod stack, with one misconfiguration seeded
 * into what its program declares (a public bucket, a public database, an API server open to the
 * internet), is refused by the offline gate, and the pack served as `pulumi preview` runs it reaches
 * the same verdict, violation for violation.
 */
import { allRules } from "../../policies/rules";
import type { DeclaredResource, PlanResult } from "../../scripts/plan/harness";
import { resolveConfig, runPolicies, type Violation } from "../../scripts/plan/policy-engine";
import { packConfigFor, runPolicyGate, stackTagsFor } from "../../scripts/plan/policy-gate";
import { plan } from "../helpers/plan";
import { servePack, type ServedPack } from "./support/analyzer";

type Seed = { what: string; type: string; change: (inputs: Record<string, any>) => void; refusedBy: string };

/** One misconfiguration per kind and cloud, written as a careless change to the component would declare it. */
const SEEDS: Record<string, Seed[]> = {
  prod: [
    { what: "a public bucket", type: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", change: (i) => Object.assign(i, { blockPublicAcls: false, blockPublicPolicy: false, ignorePublicAcls: false, restrictPublicBuckets: false }), refusedBy: "storage-no-public-access" },
    { what: "a public database", type: "aws:rds/instance:Instance", change: (i) => (i.publiclyAccessible = true), refusedBy: "database-not-public" },
    { what: "an API server open to the internet", type: "aws:eks/cluster:Cluster", change: (i) => (i.vpcConfig.publicAccessCidrs = ["0.0.0.0/0"]), refusedBy: "cluster-no-public-api" },
  ],
  "gcp-prod": [
    { what: "a public bucket", type: "gcp:storage/bucket:Bucket", change: (i) => (i.publicAccessPrevention = "inherited"), refusedBy: "storage-no-public-access" },
    {
      what: "a public database",
      type: "gcp:sql/databaseInstance:DatabaseInstance",
      change: (i) => Object.assign(i.settings.ipConfiguration, { ipv4Enabled: true, authorizedNetworks: [{ value: "0.0.0.0/0" }] }),
      refusedBy: "database-not-public",
    },
    { what: "an API server open to the internet", type: "gcp:container/cluster:Cluster", change: (i) => (i.masterAuthorizedNetworksConfig.cidrBlocks = [{ cidrBlock: "0.0.0.0/0" }]), refusedBy: "cluster-no-public-api" },
  ],
  "azure-prod": [
    { what: "a public bucket", type: "azure-native:storage:StorageAccount", change: (i) => (i.allowBlobPublicAccess = true), refusedBy: "storage-no-public-access" },
    {
      what: "a public database",
      type: "azure-native:dbforpostgresql:Server",
      // Public access exists only on a server outside the VNet: the careless change takes it out of the delegated subnet.
      change: (i) => (i.network = { publicNetworkAccess: "Enabled" }),
      refusedBy: "database-not-public",
    },
    { what: "an API server open to the internet", type: "azure-native:containerservice:ManagedCluster", change: (i) => (i.apiServerAccessProfile.authorizedIPRanges = ["0.0.0.0/0"]), refusedBy: "cluster-no-public-api" },
  ],
};

const key = (v: Violation) => `${v.level} ${v.policy} ${v.resource} ${v.message}`;
const mandatory = (violations: Violation[]) => violations.filter((v) => v.level === "mandatory");

/** The plan with one resource's inputs (and state, which stack policies read) changed. */
function seeded(result: PlanResult, seed: Seed): { resources: DeclaredResource[]; target: DeclaredResource } {
  const resources = JSON.parse(JSON.stringify(result.resources)) as DeclaredResource[];
  const matching = resources.filter((r) => r.type === seed.type);
  if (matching.length === 0) throw new Error(`${result.stack} declares no ${seed.type}`);
  for (const r of matching) {
    seed.change(r.inputs);
    seed.change(r.state);
  }
  return { resources, target: matching[0] };
}

let pack: ServedPack;
const plans: Record<string, PlanResult> = {};
beforeAll(async () => {
  pack = await servePack();
  for (const stack of Object.keys(SEEDS)) plans[stack] = await plan({ stack });
}, 120_000);
afterAll(() => pack?.stop());

describe.each(Object.keys(SEEDS))("%s", (stack) => {
  test("passes the prod pack with every rule mandatory, offline and served", async () => {
    const result = plans[stack];
    expect(await runPolicyGate(result)).toEqual([]);
    await pack.configure(resolveConfig(allRules, packConfigFor("prod"), "advisory"), stackTagsFor(result, "prod"));
    expect(await pack.run(result.resources)).toEqual([]);
  });

  test.each(SEEDS[stack].map((s) => [s.what, s] as const))("%s is refused by the offline gate and the served pack alike", async (_what, seed) => {
    const result = plans[stack];
    const { resources, target } = seeded(result, seed);
    const offline = await runPolicies(allRules, resources, { config: packConfigFor("prod"), packLevel: "advisory", stackTags: stackTagsFor(result, "prod") });
    // The rule reports on the resource it reads (a public access block is reported on its bucket).
    expect(mandatory(offline).map((v) => v.policy)).toContain(seed.refusedBy);
    expect(mandatory(offline).some((v) => v.policy === seed.refusedBy && (v.resource === target.urn || target.dependencies.includes(v.resource) || Object.values(target.propertyDependencies).flat().includes(v.resource)))).toBe(true);
    await pack.configure(resolveConfig(allRules, packConfigFor("prod"), "advisory"), stackTagsFor(result, "prod"));
    const served = await pack.run(resources);
    expect(served.map(key).sort()).toEqual(offline.map(key).sort());
  });
});
