/**
 * The policy pack's real rules (policies/rules, through scripts/plan/policy-engine.ts) over what
 * AzureFoundation declares: the prod-like declaration under policies/config/prod.json (every rule
 * mandatory), the dev-like one under dev.json, and seeded misconfigurations that must be refused.
 */
import { allRules } from "../../../policies/rules";
import type { DeclaredResource } from "../../../scripts/plan/harness";
import { runPolicies, type Violation } from "../../../scripts/plan/policy-engine";
import { packConfigFor } from "../../../scripts/plan/policy-gate";
import { mutate, resource } from "../../helpers/policy-engine";
import { devArgs, one, planAzure, prodArgs, T, type AzurePlan } from "./support";

let dev: AzurePlan;
let prod: AzurePlan;

beforeAll(async () => {
  dev = await planAzure(devArgs());
  prod = await planAzure(prodArgs());
});

function check(plan: AzurePlan, resources: DeclaredResource[], environment: "dev" | "prod"): Promise<Violation[]> {
  return runPolicies(allRules, resources, {
    config: packConfigFor(environment),
    stack: { project: plan.result.project, stack: environment, config: plan.result.config },
    stackTags: { environment },
  });
}

const summary = (violations: Violation[]) => violations.map((v) => `${v.policy} [${v.level}]: ${v.message}`);
const policiesOf = (violations: Violation[]) => [...new Set(violations.filter((v) => v.level === "mandatory").map((v) => v.policy))].sort();

/** A copy with one resource's properties changed as the program would declare them: inputs (resource rules) and state (stack rules). */
function change(resources: DeclaredResource[], name: string, edit: (props: Record<string, any>) => unknown): DeclaredResource[] {
  return mutate(resources, name, (r) => {
    edit(r.inputs);
    edit(r.state);
  });
}

describe("prod declaration under policies/config/prod.json", () => {
  test("every rule passes: no violation at all", async () => {
    expect(summary(await check(prod, prod.resources, "prod"))).toEqual([]);
  });

  test("the audit-log export is declared with the SDK's DiagnosticSetting token, the one the pack matches", () => {
    expect(one(prod, T.diagnostic).type).toBe(require("@pulumi/azure-native/monitor").DiagnosticSetting.__pulumiType);
  });
});

describe("dev declaration under policies/config/dev.json", () => {
  test("no mandatory violation (customer-managed keys, HA and audit export are prod's)", async () => {
    const violations = await check(dev, dev.resources, "dev");
    expect(violations.filter((v) => v.level === "mandatory")).toEqual([]);
  });
});

describe("seeded misconfigurations are refused under prod.json", () => {
  const base = () => prod.resources;
  const server = () => one(prod, T.server).name;
  const account = () => one(prod, T.account).name;
  const cluster = () => one(prod, T.cluster).name;
  const refused = async (resources: DeclaredResource[]) => policiesOf(await check(prod, resources, "prod"));

  test("public blob access on the account, or a public container", async () => {
    expect(await refused(change(base(), account(), (p) => (p.allowBlobPublicAccess = true)))).toEqual(["storage-no-public-access"]);
    expect(await refused(change(base(), one(prod, T.container).name, (p) => (p.publicAccess = "Blob")))).toEqual(["storage-no-public-access"]);
  });

  test("shared keys, old TLS, Microsoft-managed keys, no versioning on the account", async () => {
    expect(await refused(change(base(), account(), (p) => (p.allowSharedKeyAccess = true)))).toEqual(["storage-iam-only-access"]);
    expect(await refused(change(base(), account(), (p) => (p.minimumTlsVersion = "TLS1_0")))).toEqual(["storage-tls-only"]);
    expect(await refused(change(base(), account(), (p) => (p.encryption = { keySource: "Microsoft.Storage" })))).toEqual(["storage-encryption"]);
    expect(await refused(change(base(), one(prod, T.blobService).name, (p) => (p.isVersioningEnabled = false)))).toEqual(["storage-versioning"]);
  });

  test("a database reachable from public networks, or opened by a firewall rule", async () => {
    const publicServer = change(base(), server(), (p) => (p.network = { publicNetworkAccess: "Enabled" }));
    expect(await refused(publicServer)).toEqual(["database-not-public"]);
    const firewall = resource("azure-native:dbforpostgresql:FirewallRule", { resourceGroupName: "mlops-prod-rg", serverName: "x", startIpAddress: "0.0.0.0", endIpAddress: "255.255.255.255" });
    expect(await refused([...base(), firewall])).toEqual(["database-not-public"]);
  });

  test("TLS off, short backups, no HA, no protection on the database", async () => {
    const tls = one(prod, T.pgConfig, "require-secure-transport").name;
    expect(await refused(change(base(), tls, (p) => (p.value = "off")))).toEqual(["database-tls-required"]);
    expect(await refused(change(base(), server(), (p) => (p.backup = { backupRetentionDays: 7, geoRedundantBackup: "Enabled" })))).toEqual(["database-backup-retention"]);
    expect(await refused(change(base(), server(), (p) => (p.highAvailability = { mode: "Disabled" })))).toEqual(["database-high-availability"]);
    expect(await refused(mutate(base(), server(), (r) => (r.protect = false)))).toEqual(["database-deletion-protection"]);
  });

  test("an API server open to the internet, or to ranges outside the allow-list", async () => {
    expect(await refused(change(base(), cluster(), (p) => (p.apiServerAccessProfile = { authorizedIPRanges: ["0.0.0.0/0"] })))).toEqual(["cluster-no-public-api"]);
    expect(await refused(change(base(), cluster(), (p) => (p.apiServerAccessProfile = {})))).toEqual(["cluster-no-public-api"]);
    expect(await refused(change(base(), cluster(), (p) => (p.apiServerAccessProfile = { authorizedIPRanges: ["192.0.2.0/24"] })))).toEqual(["cluster-no-public-api"]);
  });

  test("no network policy engine, no KMS, public node IPs, an old Kubernetes, no audit export", async () => {
    expect(await refused(change(base(), cluster(), (p) => (p.networkProfile = { ...p.networkProfile, networkPolicy: "none" })))).toEqual(["cluster-network-policy-enforced"]);
    expect(await refused(change(base(), cluster(), (p) => delete p.securityProfile.azureKeyVaultKms))).toEqual(["cluster-secrets-encryption"]);
    expect(await refused(change(base(), one(prod, T.pool).name, (p) => (p.enableNodePublicIP = true)))).toEqual(["cluster-private-nodes"]);
    expect(await refused(change(base(), cluster(), (p) => (p.kubernetesVersion = "1.29")))).toEqual(["cluster-kubernetes-version"]);
    expect(await refused(base().filter((r) => r.type !== T.diagnostic))).toEqual(["cluster-audit-logs"]);
  });

  test("a key without rotation, a resource without the standard tags", async () => {
    const key = one(prod, T.key, "-artifacts").name;
    expect(await refused(change(base(), key, (p) => delete p.properties.rotationPolicy))).toEqual(["storage-kms-key-rotation"]);
    expect(await refused(change(base(), one(prod, T.vnet).name, (p) => (p.tags = { project: "mlops-platform" })))).toEqual(["tags-cloud-required"]);
  });
});
