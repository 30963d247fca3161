/**
 * The same checks over all seven stacks (AWS, GCP, Azure, each dev and prod, and a local cluster):
 * the Foundation contract, the stack outputs, each cloud's security properties and dev/prod
 * differences, workloads of the same shape on every target, and every Kubernetes object schema-valid.
 * Run under Pulumi's mocks with each stack's real config; nothing reaches a cloud.
 */
import type { DeclaredResource, PlanResult } from "../../scripts/plan/harness";
import { listStacks } from "../../scripts/plan/stack-config";
import { toObjects, type K8sObject } from "../components/kubernetes/support/plan";
import { validateObjects } from "../components/kubernetes/support/schema";
import { ofType, one, plan } from "../helpers/plan";

const STACKS = ["dev", "prod", "gcp-dev", "gcp-prod", "azure-dev", "azure-prod", "local"];
const CLOUD_OF: Record<string, string> = { dev: "aws", prod: "aws", "gcp-dev": "gcp", "gcp-prod": "gcp", "azure-dev": "azure", "azure-prod": "azure", local: "local" };
/** The credential plugin each cloud's kubeconfig runs: no static credential is written into a stack output. */
const CREDENTIAL_PLUGIN: Record<string, string> = { aws: "aws", gcp: "gke-gcloud-auth-plugin", azure: "kubelogin" };
const FOUNDATION_OUTPUTS = ["clusterName", "kubeconfig", "databaseEndpoint", "artifactStoreUri", "region", "imageRegistry", "mlflowIdentity"];

const plans: Record<string, PlanResult> = {};
beforeAll(async () => {
  for (const stack of STACKS) plans[stack] = await plan({ stack });
});

/** The objects the cloud-neutral workloads (components/kubernetes) declare: what must be the same on every target. */
const workloadObjects = (r: PlanResult): K8sObject[] =>
  toObjects(r.resources.filter((x) => x.parent?.includes("mlops:kubernetes:Platform") && !/mlops:(aws|gcp|azure|local):/.test(x.parent)));
const shape = (objects: K8sObject[]) => objects.map((o) => `${o.kind} ${o.metadata?.namespace ?? "-"}/${String(o.metadata?.name).replace(/-[0-9a-f]{8}$/, "-<hash>")}`).sort();
const cloudResources = (r: PlanResult) => r.resources.filter((x) => x.custom && /^(aws|gcp|azure-native):/.test(x.type));

test("the seven stacks are the ones in the repository", () => {
  expect(listStacks()).toEqual([...STACKS].sort());
});

describe.each(STACKS)("stack %s", (stack) => {
  let r: PlanResult;
  beforeAll(() => {
    r = plans[stack];
  });

  test("exports the foundation's outputs under the same names as every cloud, the kubeconfig as a secret", () => {
    for (const key of FOUNDATION_OUTPUTS) expect([key, typeof r.outputs[key]]).toEqual([key, "string"]);
    expect(r.secretOutputs).toContain("kubeconfig");
    for (const key of FOUNDATION_OUTPUTS.filter((k) => k !== "kubeconfig")) expect(r.secretOutputs).not.toContain(key);
    expect(r.outputs.imageRegistry).not.toMatch(/^https?:|:latest|\/$/);
  });

  test("satisfies the Foundation contract: one Kubernetes provider for every object, the database and the artifact store wired into MLflow", () => {
    const providers = ofType(r, "pulumi:providers:kubernetes");
    expect(providers).toHaveLength(1);
    const k8s = r.resources.filter((x) => x.type.startsWith("kubernetes:"));
    expect(new Set(k8s.map((x) => x.provider?.split("::").slice(0, 4).join("::")))).toEqual(new Set([providers[0].urn]));
    const mlflow = workloadObjects(r).find((o) => o.kind === "Deployment" && o.metadata.name === "mlflow")!;
    expect(JSON.stringify(mlflow.spec.template.spec.containers[0])).toContain(String(r.outputs.artifactStoreUri));
    const cloud = CLOUD_OF[stack];
    if (cloud !== "local") {
      const user = JSON.parse(String(r.outputs.kubeconfig)).users[0].user;
      expect(user.exec.command).toBe(CREDENTIAL_PLUGIN[cloud]);
      expect(JSON.stringify(user)).not.toMatch(/"token"|client-key|password/i);
    }
  });

  test("every Kubernetes object validates against the Kubernetes schemas", () => {
    const objects = toObjects(r.resources);
    expect(objects.length).toBeGreaterThan(40);
    expect(validateObjects(objects)).toEqual([]);
  });

  test("the services' credentials: from Secrets, one signing key per webhook kind, API keys mounted, Alertmanager on the monitor's alerts port, MLflow least privilege", () => {
    const objects = workloadObjects(r);
    const deployments = objects.filter((o) => o.kind === "Deployment");
    const named = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name)!;
    const env = (o: K8sObject): Record<string, any> => Object.fromEntries(o.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
    // No token, key, password, signing secret or webhook URL as an env literal; every reference resolves.
    const credential = /TOKEN|SECRET|PASSWORD|WEBHOOK_URLS|ALERT_ACTIONS|DATABASE_URL/;
    for (const d of deployments) {
      for (const [name, value] of Object.entries(env(d))) {
        if (credential.test(name)) expect([d.metadata.name, name, typeof value === "string" ? "literal" : Object.keys(value)]).toEqual([d.metadata.name, name, ["secretKeyRef"]]);
        if (value?.secretKeyRef) expect([d.metadata.name, name, named("Secret", value.secretKeyRef.name)?.stringData?.[value.secretKeyRef.key] !== undefined]).toEqual([d.metadata.name, name, true]);
      }
    }
    const monitor = env(named("Deployment", "monitor"));
    expect(monitor).toMatchObject({ ALERT_PORT: "8081", RETRAIN_WEBHOOK_SECRET: { secretKeyRef: { name: "retrain-webhook-signing", key: "secret" } } });
    for (const name of ["EVENTS_TOKEN", "FEEDBACK_TOKEN", "READ_TOKEN", "ALERT_RECEIVER_TOKEN"]) expect(monitor[name].secretKeyRef.key).toBe("token");
    expect(named("Secret", "drift-webhook-signing").stringData.secret).not.toBe(named("Secret", "retrain-webhook-signing").stringData.secret);
    for (const serving of deployments.filter((d) => d.metadata.name.startsWith("serving-"))) {
      expect(env(serving)).toMatchObject({ API_KEYS_FILE: "/etc/mlops/api-keys/keys.json", EVENT_SINK_TOKENS: { secretKeyRef: { key: "tokens" } } });
      expect(serving.spec.template.spec.containers[0].volumeMounts).toContainEqual({ name: "api-keys", mountPath: "/etc/mlops/api-keys", readOnly: true });
    }
    expect(named("Service", "monitor").spec.ports.map((p: any) => `${p.name}:${p.port}`)).toEqual(["http:8080", "metrics:9090", "alerts:8081"]);
    const release = r.resources.find((x) => x.type === "kubernetes:helm.sh/v3:Release" && x.inputs.chart === "kube-prometheus-stack")!;
    const routing = JSON.stringify(release.inputs.values.alertmanager.config);
    expect(routing).toContain('"http://monitor.mlops.svc.cluster.local:8081/v1/alerts"');
    expect(routing).not.toContain("monitor.mlops.svc.cluster.local:8080");
    expect(env(named("Deployment", "mlflow")).MLFLOW_AUTH_DEFAULT_PERMISSION).toBe("NO_PERMISSIONS");
    const bootstrap = objects.find((o) => o.kind === "Job" && o.metadata.name.startsWith("mlflow-bootstrap-users-"))!;
    const users = JSON.parse(env(bootstrap).MLOPS_MLFLOW_USERS) as { username: string; permissions: { permission: string }[] }[];
    expect(Object.fromEntries(users.map((u) => [u.username, [...new Set(u.permissions.map((p) => p.permission))]]))).toEqual({
      "svc-serving": ["READ"],
      "svc-drift": ["READ"],
      "svc-monitor": ["EDIT"],
      "svc-metrics": [],
      // The platform API moves aliases, sets tags, creates and deletes registered models.
      "svc-api": ["MANAGE"],
    });
    expect(r.secretOutputs).toEqual(expect.arrayContaining(["servingApiKeys", "monitorFeedbackToken", "monitorReadToken", "apiAdminPassword"]));
  });

  test("every cloud resource sits inside the cloud's Foundation component", () => {
    const cloud = CLOUD_OF[stack];
    const foundation = one(r, `mlops:${cloud}:Foundation`);
    const byUrn = new Map(r.resources.map((x) => [x.urn, x]));
    const inside = (x: DeclaredResource): boolean => x.parent === foundation.urn || (x.parent !== undefined && byUrn.has(x.parent) && inside(byUrn.get(x.parent)!));
    expect(cloudResources(r).filter((x) => !inside(x)).map((x) => x.name)).toEqual([]);
    // One cloud per stack: no other SDK's resource.
    expect(new Set(cloudResources(r).map((x) => x.type.split(":")[0]))).toEqual(new Set(cloud === "local" ? [] : [cloud === "azure" ? "azure-native" : cloud]));
  });
});

describe("the workloads are the same on every target", () => {
  test.each([
    ["dev", ["gcp-dev", "azure-dev", "local"]],
    ["prod", ["gcp-prod", "azure-prod"]],
  ])("%s-like stacks declare the same kinds and names of objects, alert rules and dashboards as the AWS stack", (base, others) => {
    const reference = workloadObjects(plans[base]);
    const rules = (objects: K8sObject[]) => objects.find((o) => o.kind === "PrometheusRule")!.spec.groups;
    const dashboards = (objects: K8sObject[]) => objects.filter((o) => o.kind === "ConfigMap" && o.metadata.labels?.grafana_dashboard).map((o) => o.data);
    for (const stack of others) {
      const objects = workloadObjects(plans[stack]);
      // Local keeps artifacts on a volume (MLflow's claim for it), and its stack file turns on the
      // ingress (mlops:ingress) that the clouds' dev stacks leave off: its objects are the other extras.
      const ingress = stack === "local" ? shape(objects.filter((o) => o.resource.urn.includes("mlops:kubernetes:Ingress"))) : [];
      const extra = stack === "local" ? ["PersistentVolumeClaim mlops/mlflow-artifacts", ...ingress] : [];
      expect([stack, shape(objects)]).toEqual([stack, [...shape(reference), ...extra].sort()]);
      expect(rules(objects)).toEqual(rules(reference));
      expect(dashboards(objects)).toEqual(dashboards(reference));
    }
  });
});

describe("GCP: security properties, dev and prod", () => {
  const gke = (stack: string) => one(plans[stack], "gcp:container/cluster:Cluster").inputs;
  const sql = (stack: string) => one(plans[stack], "gcp:sql/databaseInstance:DatabaseInstance").inputs;
  // MLflow's artifact bucket (Velero's backup bucket: test/infra/backups-and-logs.test.ts).
  const bucket = (stack: string) => ofType(plans[stack], "gcp:storage/bucket:Bucket").find((b) => b.name.endsWith("-artifacts-bucket"))!.inputs;
  const pool = (stack: string) => one(plans[stack], "gcp:container/nodePool:NodePool").inputs;

  test.each(["gcp-dev", "gcp-prod"])("%s: private nodes, control plane limited to the configured networks, Workload Identity, Dataplane V2, shielded nodes", (stack) => {
    const c = gke(stack);
    expect(c.privateClusterConfig).toMatchObject({ enablePrivateNodes: true });
    const cidrs = c.masterAuthorizedNetworksConfig.cidrBlocks.map((b: { cidrBlock: string }) => b.cidrBlock);
    expect(cidrs).toEqual(JSON.parse(plans[stack].config["mlops:cluster"]).publicAccessCidrs);
    expect(cidrs.some((x: string) => x.endsWith("/0"))).toBe(false);
    expect(c.workloadIdentityConfig.workloadPool).toMatch(/\.svc\.id\.goog$/);
    expect(c.datapathProvider).toBe("ADVANCED_DATAPATH");
    expect(c.enableShieldedNodes).toBe(true);
    expect(c.releaseChannel.channel).toMatch(/^(REGULAR|STABLE)$/);
  });

  test.each(["gcp-dev", "gcp-prod"])("%s: Cloud SQL private IP only with TLS; the bucket never public", (stack) => {
    expect(sql(stack).settings.ipConfiguration).toMatchObject({ ipv4Enabled: false, sslMode: "ENCRYPTED_ONLY" });
    expect(sql(stack).settings.ipConfiguration.privateNetwork).toBeTruthy();
    expect(bucket(stack)).toMatchObject({ uniformBucketLevelAccess: true, publicAccessPrevention: "enforced", versioning: { enabled: true } });
  });

  test("dev is zonal on spot VMs with a deletable zonal database; prod is regional, protected, encrypted with its own keys", () => {
    expect(gke("gcp-dev").location).toMatch(/^[a-z]+-[a-z]+\d-[a-z]$/);
    expect(gke("gcp-prod").location).toMatch(/^[a-z]+-[a-z]+\d$/);
    expect(pool("gcp-dev").nodeConfig.spot).toBe(true);
    expect(pool("gcp-prod").nodeConfig.spot ?? false).toBe(false);
    expect(sql("gcp-dev").settings.availabilityType).toBe("ZONAL");
    expect(sql("gcp-prod").settings.availabilityType).toBe("REGIONAL");
    expect(sql("gcp-prod").deletionProtection).toBe(true);
    expect(gke("gcp-prod").databaseEncryption).toMatchObject({ state: "ENCRYPTED" });
    expect(bucket("gcp-prod").encryption?.defaultKmsKeyName).toBeTruthy();
    expect(bucket("gcp-dev").encryption).toBeUndefined();
  });
});

describe("Azure: security properties, dev and prod", () => {
  const aks = (stack: string) => one(plans[stack], "azure-native:containerservice:ManagedCluster").inputs;
  const server = (stack: string) => one(plans[stack], "azure-native:dbforpostgresql:Server").inputs;
  // The artifact store's account (Velero's backup account: test/infra/backups-and-logs.test.ts).
  const account = (stack: string) => ofType(plans[stack], "azure-native:storage:StorageAccount").find((a) => a.name.endsWith("-artifacts-account"))!.inputs;

  test.each(["azure-dev", "azure-prod"])("%s: authorised API ranges, Entra ID with Azure RBAC, Workload Identity, a network policy engine", (stack) => {
    const c = aks(stack);
    expect(c.apiServerAccessProfile.authorizedIPRanges).toEqual(JSON.parse(plans[stack].config["mlops:cluster"]).publicAccessCidrs);
    expect(c.aadProfile).toMatchObject({ managed: true, enableAzureRBAC: true });
    expect(c.oidcIssuerProfile.enabled).toBe(true);
    expect(c.securityProfile.workloadIdentity.enabled).toBe(true);
    expect(c.networkProfile.networkPolicy).toBeTruthy();
  });

  test.each(["azure-dev", "azure-prod"])("%s: the cluster admins are the configured groups only, whoever deploys", (stack) => {
    const groups = JSON.parse(plans[stack].config["mlops:cluster"]).adminGroupObjectIds;
    const admins = ofType(plans[stack], "azure-native:authorization:RoleAssignment").filter((a) => String(a.inputs.roleDefinitionId).endsWith("b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"));
    expect(admins.map((a) => a.inputs.principalId).sort()).toEqual([...groups].sort());
    for (const a of admins) expect(a.inputs.principalType).toBe("Group");
  });

  test.each(["azure-dev", "azure-prod"])("%s: PostgreSQL without public access; storage without public or shared-key access, TLS 1.2", (stack) => {
    expect(server(stack).network).toMatchObject({ publicNetworkAccess: "Disabled" });
    expect(account(stack)).toMatchObject({ allowBlobPublicAccess: false, allowSharedKeyAccess: false, minimumTlsVersion: "TLS1_2", enableHttpsTrafficOnly: true });
  });

  test("dev runs a spot user pool without zones; prod spreads over zones, disables local accounts, zone-redundant HA and geo backups", () => {
    const pools = (stack: string) => ofType(plans[stack], "azure-native:containerservice:AgentPool").map((p) => p.inputs);
    expect(pools("azure-dev").some((p) => p.scaleSetPriority === "Spot")).toBe(true);
    expect(pools("azure-prod").some((p) => p.scaleSetPriority === "Spot")).toBe(false);
    expect(pools("azure-prod").every((p) => JSON.stringify(p.availabilityZones) === JSON.stringify(["1", "2", "3"]))).toBe(true);
    expect(aks("azure-prod").disableLocalAccounts).toBe(true);
    expect(aks("azure-dev").disableLocalAccounts).toBe(false);
    expect(server("azure-prod").highAvailability).toMatchObject({ mode: "ZoneRedundant" });
    expect(server("azure-prod").backup).toMatchObject({ geoRedundantBackup: "Enabled" });
    expect(server("azure-prod").backup.backupRetentionDays).toBeGreaterThanOrEqual(14);
  });

  test("on dev's tainted spot pool, every platform pod tolerates the spot taint; prod's pods need none", () => {
    const templates = (stack: string) => workloadObjects(plans[stack]).flatMap((o) => (o.kind === "Deployment" || o.kind === "Job" ? [o.spec.template.spec] : o.kind === "CronJob" ? [o.spec.jobTemplate.spec.template.spec] : []));
    expect(templates("azure-dev").length).toBeGreaterThan(5);
    for (const spec of templates("azure-dev")) expect(spec.tolerations).toEqual([{ key: "kubernetes.azure.com/scalesetpriority", operator: "Equal", value: "spot", effect: "NoSchedule" }]);
    for (const spec of templates("azure-prod")) expect(spec.tolerations).toBeUndefined();
  });
});

describe("local: no cloud, the same platform", () => {
  test("no cloud resource at all; PostgreSQL in the cluster; MLflow's artifacts on a volume", () => {
    const r = plans.local;
    expect(cloudResources(r)).toEqual([]);
    expect(toObjects(r.resources).find((o) => o.kind === "StatefulSet")!.metadata.name).toBe("postgres");
    expect(r.outputs.artifactStoreUri).toBe("file:///mlflow-artifacts");
    expect(r.outputs.databaseEndpoint).toBe("postgres.mlops-data.svc.cluster.local:5432");
  });
});
