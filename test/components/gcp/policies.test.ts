/**
 * The policy pack's real rules over what GcpFoundation declares: nothing refused under the prod
 * config (every rule mandatory), and seeded misconfigurations refused.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { allRules } from "../../../policies/rules";
import type { DeclaredResource, PlanResult } from "../../../scripts/plan/harness";
import { runPolicies, type PackConfig, type Violation } from "../../../scripts/plan/policy-engine";
import { dependsOn as linkTo, mutate, resource } from "../../helpers/policy-engine";
import { declareFoundation, devArgs, one, prodArgs, T } from "./support";

const packConfig = (env: string): PackConfig => JSON.parse(readFileSync(path.resolve(__dirname, "../../../policies/config", `${env}.json`), "utf8"));
const describeAll = (vs: Violation[]) => vs.map((v) => `${v.level} ${v.policy}: ${v.message}`);

let prod: PlanResult;
let dev: PlanResult;
beforeAll(async () => {
  prod = (await declareFoundation(prodArgs())).result;
  dev = (await declareFoundation(devArgs())).result;
});

/** The rules under `env`'s config file, in a stack tagged environment `stackEnv`. */
function check(resources: DeclaredResource[], env: "dev" | "prod", stackEnv: "dev" | "prod" = env): Promise<Violation[]> {
  return runPolicies(allRules, resources, { config: packConfig(env), stackTags: { environment: stackEnv }, stack: { project: "mlops-platform", stack: `gcp-${stackEnv}`, config: {} } });
}

/** Changes an input the same way in `inputs` (resource policies) and `state` (stack policies). */
function setBoth(r: DeclaredResource, change: (props: Record<string, any>) => void): void {
  change(r.inputs);
  change(r.state);
}

test("the prod config sets every rule mandatory", () => {
  expect(packConfig("prod").all).toBe("mandatory");
});

test("the rules that apply to GCP resources all run on the declaration", () => {
  const gcpRules = allRules.filter((r) => (r as { tags?: string[] }).tags?.includes("gcp")).map((r) => r.name);
  expect(gcpRules.length).toBeGreaterThanOrEqual(20);
});

test("prod-like foundation: no violation of any rule under the prod config", async () => {
  expect(describeAll(await check(prod.resources, "prod"))).toEqual([]);
});

test("dev-like foundation: no mandatory violation under the dev config; the advisories are the prod-only keys", async () => {
  const violations = await check(dev.resources, "dev");
  expect(describeAll(violations.filter((v) => v.level === "mandatory"))).toEqual([]);
  expect(violations.map((v) => v.policy).sort()).toEqual(["cluster-secrets-encryption", "database-encrypted", "storage-encryption"]);
});

test("dev-like foundation under the prod config: refused exactly for the environment's decisions", async () => {
  const policies = new Set((await check(dev.resources, "prod", "dev")).map((v) => v.policy));
  expect([...policies].sort()).toEqual(
    [
      "cluster-secrets-encryption",
      "database-backup-retention",
      "database-deletion-protection",
      "database-encrypted",
      "database-high-availability",
      "storage-encryption",
      "storage-lifecycle",
      "storage-no-force-destroy",
    ].sort(),
  );
});

describe("seeded misconfigurations are refused (prod config)", () => {
  const refusedBy = async (resources: DeclaredResource[], policy: string) => (await check(resources, "prod")).filter((v) => v.policy === policy && v.level === "mandatory");

  test("a bucket without public access prevention", async () => {
    const bucket = one(prod, T.bucket);
    const seeded = mutate(prod.resources, bucket.name, (r) => setBoth(r, (p) => (p.publicAccessPrevention = "inherited")));
    expect(describeAll(await refusedBy(seeded, "storage-no-public-access"))).toEqual([expect.stringContaining("does not enforce public access prevention")]);
  });

  test("a bucket granted to allUsers", async () => {
    const bucket = one(prod, T.bucket);
    const grant = linkTo(resource(T.bucketIam, { bucket: bucket.state.name, role: "roles/storage.objectViewer", member: "allUsers" }, { name: "public-read" }), "bucket", bucket);
    expect(describeAll(await refusedBy([...prod.resources, grant], "storage-no-public-access"))).toEqual([expect.stringContaining("grants roles/storage.objectViewer to allUsers")]);
  });

  test("a database with a public IPv4 address open to the internet", async () => {
    const db = one(prod, T.sql);
    const seeded = mutate(prod.resources, db.name, (r) =>
      setBoth(r, (p) => {
        p.settings.ipConfiguration.ipv4Enabled = true;
        p.settings.ipConfiguration.authorizedNetworks = [{ name: "anyone", value: "0.0.0.0/0" }];
      }),
    );
    const messages = describeAll(await refusedBy(seeded, "database-not-public"));
    expect(messages).toEqual([expect.stringContaining("has a public IPv4 address"), expect.stringContaining("authorizes 0.0.0.0/0")]);
  });

  test("a database accepting unencrypted connections", async () => {
    const db = one(prod, T.sql);
    const seeded = mutate(prod.resources, db.name, (r) => setBoth(r, (p) => (p.settings.ipConfiguration.sslMode = "ALLOW_UNENCRYPTED_AND_ENCRYPTED")));
    expect(await refusedBy(seeded, "database-tls-required")).toHaveLength(1);
  });

  test("a control plane open to the internet, and public nodes", async () => {
    const cluster = one(prod, T.cluster);
    const seeded = mutate(prod.resources, cluster.name, (r) =>
      setBoth(r, (p) => {
        p.masterAuthorizedNetworksConfig = { cidrBlocks: [{ cidrBlock: "0.0.0.0/0" }] };
        p.privateClusterConfig.enablePrivateNodes = false;
      }),
    );
    expect(await refusedBy(seeded, "cluster-no-public-api")).toHaveLength(1);
    expect(await refusedBy(seeded, "cluster-private-nodes")).toHaveLength(1);
  });

  test("a node pool exposing the node's metadata to pods", async () => {
    const pool = one(prod, T.nodePool);
    const seeded = mutate(prod.resources, pool.name, (r) => setBoth(r, (p) => (p.nodeConfig.workloadMetadataConfig = { mode: "GCE_METADATA" })));
    expect(await refusedBy(seeded, "cluster-node-metadata")).toHaveLength(1);
  });
});
