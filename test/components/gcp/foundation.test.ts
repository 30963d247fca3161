/**
 * GcpFoundation declared directly under Pulumi's mocks with prod-like and dev-like arguments: every
 * security property of components/gcp/README.md and the dev/prod differences, on the inputs the
 * engine would receive.
 */
import { REQUIRED_APIS } from "../../../components/gcp/apis";
import { DATABASE_FLAGS } from "../../../components/gcp/database";
import { KEY_ROTATION_PERIOD } from "../../../components/gcp/kms";
import type { DeclaredResource } from "../../../scripts/plan/harness";
import { CLOUD_SQL_PRIVATE_IP, GCP_PROJECT_NUMBER, GKE_CA, GKE_ENDPOINT } from "../../../scripts/plan/mocks/gcp";
import { declareFoundation, dependsOn, devArgs, idOf, ofType, one, prodArgs, T, type Declared } from "./support";

const envs: Record<"dev" | "prod", Declared> = {} as never;
beforeAll(async () => {
  envs.prod = await declareFoundation(prodArgs());
  envs.dev = await declareFoundation(devArgs());
});

const argsOf = { dev: devArgs(), prod: prodArgs() };
const keyNamed = (d: Declared, purpose: string) => ofType(d.result, T.cryptoKey).find((k) => k.name.endsWith(`-kms-${purpose}`));
const grantsOn = (d: Declared, key: DeclaredResource) => ofType(d.result, T.keyIam).filter((g) => g.inputs.cryptoKeyId === idOf(key));
const account = (d: Declared, suffix: string) => one(d.result, T.account, `${suffix}-sa`);

describe.each(["dev", "prod"] as const)("%s-like foundation", (env) => {
  let d: Declared;
  const a = argsOf[env];
  beforeAll(() => {
    d = envs[env];
  });

  describe("project APIs", () => {
    test("every required API is enabled and never disabled on destroy", () => {
      const services = ofType(d.result, T.service);
      expect(services.map((s) => s.inputs.service).sort()).toEqual([...REQUIRED_APIS].sort());
      for (const s of services) expect(s.inputs).toMatchObject({ project: a.project, disableOnDestroy: false, disableDependentServices: false });
      for (const api of ["container", "sqladmin", "servicenetworking", "artifactregistry", "cloudkms", "compute", "iam"]) {
        expect(services.map((s) => s.inputs.service)).toContain(`${api}.googleapis.com`);
      }
    });

    test("the first resources of every part wait for all of them", () => {
      const services = ofType(d.result, T.service);
      const roots = [one(d.result, T.network), one(d.result, T.keyRing), one(d.result, T.repository), one(d.result, T.cluster), one(d.result, T.sql), one(d.result, T.bucket), ...ofType(d.result, T.account)];
      for (const r of roots) for (const s of services) expect([r.name, dependsOn(r, s)]).toEqual([r.name, true]);
    });
  });

  describe("network", () => {
    test("a custom-mode VPC with one private subnet: Private Google Access, pods and services ranges", () => {
      const vpc = one(d.result, T.network);
      expect(vpc.inputs).toMatchObject({ project: a.project, autoCreateSubnetworks: false });
      const subnet = one(d.result, T.subnet);
      expect(subnet.inputs).toMatchObject({
        region: a.region,
        network: idOf(vpc),
        ipCidrRange: a.network.subnetCidr,
        privateIpGoogleAccess: true,
        secondaryIpRanges: [
          { rangeName: "pods", ipCidrRange: a.network.podsCidr },
          { rangeName: "services", ipCidrRange: a.network.servicesCidr },
        ],
      });
    });

    test(env === "prod" ? "flow logs on the subnet" : "no flow logs", () => {
      const logConfig = one(d.result, T.subnet).inputs.logConfig;
      if (env === "prod") expect(logConfig).toEqual({ aggregationInterval: "INTERVAL_5_SEC", flowSampling: 0.5, metadata: "INCLUDE_ALL_METADATA" });
      else expect(logConfig).toBeUndefined();
    });

    test("Cloud Router and Cloud NAT for this subnet only", () => {
      const router = one(d.result, T.router);
      expect(router.inputs).toMatchObject({ region: a.region, network: idOf(one(d.result, T.network)) });
      const nat = one(d.result, T.nat);
      expect(nat.inputs).toMatchObject({
        region: a.region,
        router: router.state.name,
        natIpAllocateOption: "AUTO_ONLY",
        sourceSubnetworkIpRangesToNat: "LIST_OF_SUBNETWORKS",
        subnetworks: [{ name: idOf(one(d.result, T.subnet)), sourceIpRangesToNats: ["ALL_IP_RANGES"] }],
      });
    });

    test("Private Service Access: a VPC-peering range and the servicenetworking connection on it", () => {
      const vpc = one(d.result, T.network);
      const range = one(d.result, T.globalAddress);
      expect(range.inputs).toMatchObject({ network: idOf(vpc), purpose: "VPC_PEERING", addressType: "INTERNAL", prefixLength: a.network.privateServicesPrefixLength });
      const peering = one(d.result, T.peering);
      expect(peering.inputs).toMatchObject({ network: idOf(vpc), service: "servicenetworking.googleapis.com", reservedPeeringRanges: [range.state.name] });
    });
  });

  describe("GKE cluster", () => {
    let cluster: DeclaredResource;
    beforeAll(() => {
      cluster = one(d.result, T.cluster);
    });

    test(env === "prod" ? "regional (location = region)" : "zonal (location = zone)", () => {
      expect(cluster.inputs.location).toBe(env === "prod" ? a.region : a.zone);
      expect(one(d.result, T.nodePool).inputs.location).toBe(cluster.inputs.location);
      expect(cluster.inputs.name).toBe(a.clusterName);
    });

    test("VPC-native in the private subnet, with private nodes and the master CIDR", () => {
      expect(cluster.inputs).toMatchObject({
        network: idOf(one(d.result, T.network)),
        subnetwork: idOf(one(d.result, T.subnet)),
        networkingMode: "VPC_NATIVE",
        ipAllocationPolicy: { clusterSecondaryRangeName: "pods", servicesSecondaryRangeName: "services" },
        privateClusterConfig: { enablePrivateNodes: true, enablePrivateEndpoint: false, masterIpv4CidrBlock: a.network.masterCidr },
      });
    });

    test("the control plane admits the authorized networks only (no Google Cloud public ranges, no client certificate)", () => {
      expect(cluster.inputs.masterAuthorizedNetworksConfig).toEqual({
        cidrBlocks: a.cluster.authorizedNetworks.map((cidrBlock) => ({ cidrBlock, displayName: `authorized ${cidrBlock}` })),
        gcpPublicCidrsAccessEnabled: false,
      });
      expect(cluster.inputs.masterAuth).toEqual({ clientCertificateConfig: { issueClientCertificate: false } });
      expect(cluster.inputs.enableLegacyAbac).toBe(false);
    });

    test("Workload Identity, Dataplane V2 (network policy enforcement), shielded nodes, API server logs", () => {
      expect(cluster.inputs.workloadIdentityConfig).toEqual({ workloadPool: `${a.project}.svc.id.goog` });
      expect(cluster.inputs.datapathProvider).toBe("ADVANCED_DATAPATH");
      expect(cluster.inputs.networkPolicy).toBeUndefined();
      expect(cluster.inputs.enableShieldedNodes).toBe(true);
      expect(cluster.inputs.loggingConfig.enableComponents).toContain("APISERVER");
      expect(cluster.inputs.addonsConfig.gcePersistentDiskCsiDriverConfig).toEqual({ enabled: true });
    });

    test("release channel and the Kubernetes version as the control plane's minimum", () => {
      expect(cluster.inputs.releaseChannel).toEqual({ channel: a.cluster.releaseChannel });
      expect(cluster.inputs.minMasterVersion).toBe(a.cluster.kubernetesVersion);
    });

    test("the default node pool is removed, and until then runs as the node service account with the GKE metadata server", () => {
      expect(cluster.inputs).toMatchObject({ removeDefaultNodePool: true, initialNodeCount: 1 });
      expect(cluster.inputs.nodeConfig).toMatchObject({
        serviceAccount: account(d, "node-identity").state.email,
        workloadMetadataConfig: { mode: "GKE_METADATA" },
        shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
      });
    });

    test(env === "prod" ? "Secrets encrypted with a Cloud KMS key granted to the GKE service agent" : "no application-layer Secrets encryption", () => {
      const key = keyNamed(d, "gke-secrets");
      if (env === "dev") {
        expect(key).toBeUndefined();
        expect(cluster.inputs.databaseEncryption).toEqual({ state: "DECRYPTED" });
        return;
      }
      expect(key!.inputs.rotationPeriod).toBe(KEY_ROTATION_PERIOD);
      expect(key!.inputs.keyRing).toBe(idOf(one(d.result, T.keyRing)));
      expect(one(d.result, T.keyRing).inputs.location).toBe(a.region);
      expect(cluster.inputs.databaseEncryption).toEqual({ state: "ENCRYPTED", keyName: idOf(key!) });
      const grants = grantsOn(d, key!);
      expect(grants.map((g) => g.inputs)).toEqual([
        { cryptoKeyId: idOf(key!), role: "roles/cloudkms.cryptoKeyEncrypterDecrypter", member: `serviceAccount:service-${GCP_PROJECT_NUMBER}@container-engine-robot.iam.gserviceaccount.com` },
      ]);
      expect(dependsOn(cluster, grants[0])).toBe(true);
    });

    test("deletion protection and labels from the arguments (labels normalised for GCP)", () => {
      expect(cluster.inputs.deletionProtection).toBe(a.cluster.deletionProtection);
      expect(cluster.inputs.resourceLabels).toEqual({ project: "mlops-platform", environment: env, team: "ml_platform", "cost-center": "cc-1234", "managed-by": "pulumi" });
    });
  });

  describe("node pool", () => {
    let pool: DeclaredResource;
    beforeAll(() => {
      pool = one(d.result, T.nodePool);
    });

    test("a separate, autoscaled pool of this cluster", () => {
      expect(pool.inputs.cluster).toBe(idOf(one(d.result, T.cluster)));
      expect(pool.inputs.autoscaling).toEqual({ totalMinNodeCount: a.cluster.nodeCount.min, totalMaxNodeCount: a.cluster.nodeCount.max, locationPolicy: "BALANCED" });
      // Per zone: a regional pool spans three zones.
      expect(pool.inputs.initialNodeCount).toBe(env === "prod" ? 1 : a.cluster.nodeCount.min);
      expect(pool.inputs.management).toEqual({ autoRepair: true, autoUpgrade: true });
      expect(pool.inputs.upgradeSettings).toEqual({ strategy: "SURGE", maxSurge: 1, maxUnavailable: 0 });
    });

    test(env === "dev" ? "spot VMs" : "on-demand VMs", () => {
      expect(pool.inputs.nodeConfig.spot).toBe(env === "dev");
      expect(pool.inputs.nodeConfig).toMatchObject({ machineType: a.cluster.machineType, diskSizeGb: a.cluster.diskSizeGb, imageType: "COS_CONTAINERD" });
    });

    test("its own service account, the GKE metadata server, shielded VMs", () => {
      expect(pool.inputs.nodeConfig).toMatchObject({
        serviceAccount: account(d, "node-identity").state.email,
        oauthScopes: ["https://www.googleapis.com/auth/cloud-platform"],
        workloadMetadataConfig: { mode: "GKE_METADATA" },
        shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
        metadata: { "disable-legacy-endpoints": "true" },
      });
      expect(pool.inputs.nodeConfig.resourceLabels.environment).toBe(env);
    });

    test("no pinned version: nodes follow the control plane through the release channel's auto-upgrade", () => {
      expect(pool.inputs.version).toBeUndefined();
    });

    test("the node service account: the four monitoring/logging roles on the project, Artifact Registry read on the platform repository only", () => {
      const sa = account(d, "node-identity");
      expect(sa.inputs.accountId).toBe(`${a.clusterName}-nodes`);
      const projectGrants = ofType(d.result, T.projectIam);
      expect(projectGrants.every((g) => g.inputs.member === sa.state.member && g.inputs.project === a.project)).toBe(true);
      expect(projectGrants.map((g) => g.inputs.role).sort()).toEqual(["roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/monitoring.viewer", "roles/stackdriver.resourceMetadata.writer"]);
      const registryGrant = one(d.result, T.repositoryIam);
      expect(registryGrant.inputs).toMatchObject({ repository: a.registry.repositoryId, location: a.region, role: "roles/artifactregistry.reader", member: sa.state.member });
      for (const g of [...projectGrants, registryGrant]) expect(dependsOn(pool, g)).toBe(true);
    });
  });

  describe("kubeconfig and provider", () => {
    test("a secret kubeconfig whose user runs gke-gcloud-auth-plugin: no credential inside", () => {
      expect(d.secretOutputs).toContain("out:kubeconfig");
      const raw = d.outputs.kubeconfig as string;
      const config = JSON.parse(raw);
      expect(config.clusters[0]).toEqual({ name: a.clusterName, cluster: { server: `https://${GKE_ENDPOINT}`, "certificate-authority-data": GKE_CA } });
      expect(config.users[0].user).toEqual({ exec: expect.objectContaining({ command: "gke-gcloud-auth-plugin", args: [], apiVersion: "client.authentication.k8s.io/v1beta1" }) });
      expect(raw).not.toMatch(/token|client-key|client-certificate|password/);
    });

    test("the Kubernetes provider uses it (as a secret) with server-side apply, after the node pool", () => {
      const provider = one(d.result, T.k8sProvider);
      expect(provider.inputs.enableServerSideApply).toBe("true");
      expect(provider.inputs.kubeconfig).toBe(d.outputs.kubeconfig);
      expect(provider.secretPaths).toContain("kubeconfig");
      expect(dependsOn(provider, one(d.result, T.nodePool))).toBe(true);
      expect(d.foundation.foundation.kubernetes).toBe(d.foundation.cluster.provider);
    });
  });

  describe("Cloud SQL", () => {
    let db: DeclaredResource;
    beforeAll(() => {
      db = one(d.result, T.sql);
    });

    test("PostgreSQL of the requested major version, tier and edition, in the region", () => {
      expect(db.inputs).toMatchObject({ project: a.project, region: a.region, databaseVersion: "POSTGRES_16" });
      expect(db.inputs.settings).toMatchObject({ tier: a.database.tier, edition: "ENTERPRISE", diskSize: a.database.diskSizeGb, diskAutoresize: true, diskType: "PD_SSD" });
      expect(db.inputs.name).toBeUndefined();
    });

    test("private IP only, on the VPC, after the servicenetworking connection", () => {
      expect(db.inputs.settings.ipConfiguration).toEqual({ ipv4Enabled: false, privateNetwork: idOf(one(d.result, T.network)), sslMode: "ENCRYPTED_ONLY", authorizedNetworks: [] });
      expect(dependsOn(db, one(d.result, T.peering))).toBe(true);
    });

    test("backups with point-in-time recovery, retention from the arguments", () => {
      expect(db.inputs.settings.backupConfiguration).toMatchObject({
        enabled: true,
        pointInTimeRecoveryEnabled: true,
        transactionLogRetentionDays: Math.min(a.database.backupRetentionDays, 7),
        backupRetentionSettings: { retainedBackups: a.database.backupRetentionDays, retentionUnit: "COUNT" },
      });
    });

    test(env === "prod" ? "regional, deletion-protected at the API, the provider and in Pulumi" : "zonal, deletable", () => {
      expect(db.inputs.settings.availabilityType).toBe(env === "prod" ? "REGIONAL" : "ZONAL");
      expect(db.inputs.deletionProtection).toBe(env === "prod");
      expect(db.inputs.settings.deletionProtectionEnabled).toBe(env === "prod");
      expect(db.protect).toBe(env === "prod");
    });

    test("logging flags a reviewed server sets", () => {
      const flags = Object.fromEntries(db.inputs.settings.databaseFlags.map((f: { name: string; value: string }) => [f.name, f.value]));
      expect(flags).toEqual(DATABASE_FLAGS);
      expect(flags).toMatchObject({ log_connections: "on", log_disconnections: "on" });
      expect(db.inputs.settings.userLabels.environment).toBe(env);
    });

    test(env === "prod" ? "disks and backups encrypted with a key granted to the Cloud SQL service agent" : "Google-managed encryption", () => {
      const key = keyNamed(d, "cloudsql");
      if (env === "dev") {
        expect(key).toBeUndefined();
        expect(db.inputs.encryptionKeyName).toBeUndefined();
        expect(ofType(d.result, T.serviceIdentity)).toEqual([]);
        return;
      }
      expect(db.inputs.encryptionKeyName).toBe(idOf(key!));
      const agent = one(d.result, T.serviceIdentity);
      expect(agent.inputs).toMatchObject({ project: a.project, service: "sqladmin.googleapis.com" });
      const grants = grantsOn(d, key!);
      expect(grants.map((g) => [g.inputs.role, g.inputs.member])).toEqual([["roles/cloudkms.cryptoKeyEncrypterDecrypter", agent.state.member]]);
      expect(dependsOn(db, grants[0])).toBe(true);
    });

    test("the admin user with the generated password, and the mlflow database", () => {
      const user = one(d.result, T.sqlUser);
      const password = ofType(d.result, T.password).find((p) => p.name.endsWith("-db-admin-password"))!;
      expect(password.inputs).toMatchObject({ length: 40, special: false });
      expect(user.inputs).toMatchObject({ instance: db.state.name, name: "mlops_admin", password: password.state.result, deletionPolicy: "ABANDON" });
      expect(user.secretPaths).toContain("password");
      expect(one(d.result, T.sqlDatabase).inputs).toMatchObject({ instance: db.state.name, name: "mlflow" });
    });

    test("Foundation.database: the private IP, 5432, TLS required, the password a secret", () => {
      expect(d.foundationValues).toMatchObject({ dbHost: CLOUD_SQL_PRIVATE_IP, dbPort: 5432, dbUser: "mlops_admin" });
      expect(d.foundation.foundation.database.sslMode).toBe("require");
      expect(d.secretOutputs).toContain("f:dbPassword");
      expect(d.outputs.databaseEndpoint).toBe(`${CLOUD_SQL_PRIVATE_IP}:5432`);
    });
  });

  describe("artifact store", () => {
    let bucket: DeclaredResource;
    beforeAll(() => {
      bucket = one(d.result, T.bucket);
    });

    test("IAM only, never public, versioned, in the region", () => {
      expect(bucket.inputs).toMatchObject({
        project: a.project,
        location: a.region,
        uniformBucketLevelAccess: true,
        publicAccessPrevention: "enforced",
        versioning: { enabled: true },
        forceDestroy: env === "dev",
      });
      expect(bucket.inputs.labels.environment).toBe(env);
    });

    test(env === "prod" ? "lifecycle: noncurrent versions, incomplete uploads, COLDLINE after 90 days" : "lifecycle: noncurrent versions and incomplete uploads, no cold storage", () => {
      const rules = bucket.inputs.lifecycleRules;
      expect(rules).toContainEqual({ action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: a.artifactStore.noncurrentVersionExpirationDays, withState: "ARCHIVED" } });
      expect(rules).toContainEqual({ action: { type: "AbortIncompleteMultipartUpload" }, condition: { age: a.artifactStore.abortIncompleteUploadDays } });
      const cold = rules.filter((r: any) => r.action.type === "SetStorageClass");
      expect(cold).toEqual(env === "prod" ? [{ action: { type: "SetStorageClass", storageClass: "COLDLINE" }, condition: { age: 90, matchesStorageClasses: ["STANDARD"] } }] : []);
    });

    test(env === "prod" ? "CMEK: a key granted to the Cloud Storage service agent, before the bucket" : "Google-managed encryption", () => {
      const key = keyNamed(d, "artifacts");
      if (env === "dev") {
        expect(key).toBeUndefined();
        expect(bucket.inputs.encryption).toBeUndefined();
        return;
      }
      expect(bucket.inputs.encryption).toEqual({ defaultKmsKeyName: idOf(key!) });
      const grants = grantsOn(d, key!);
      expect(grants.map((g) => [g.inputs.role, g.inputs.member])).toEqual([
        ["roles/cloudkms.cryptoKeyEncrypterDecrypter", `serviceAccount:service-${GCP_PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com`],
      ]);
      expect(dependsOn(bucket, grants[0])).toBe(true);
    });

    test("the artifact store URI is gs://<bucket>/<prefix>", () => {
      expect(d.outputs.artifactStoreUri).toBe(`gs://${bucket.state.name}/${a.artifactStore.prefix}`);
      expect(d.foundationValues.artifactUri).toBe(d.outputs.artifactStoreUri);
    });
  });

  describe("MLflow's identity", () => {
    test("a Google service account only mlops/mlflow may impersonate (Workload Identity), once the pool exists", () => {
      const sa = account(d, "mlflow-identity");
      expect(sa.inputs.accountId).toBe(`${a.clusterName}-mlflow`);
      const binding = one(d.result, T.accountIam);
      expect(binding.inputs).toEqual({ serviceAccountId: sa.state.name, role: "roles/iam.workloadIdentityUser", member: `serviceAccount:${a.project}.svc.id.goog[mlops/mlflow]` });
      expect(dependsOn(binding, one(d.result, T.cluster))).toBe(true);
    });

    test("object admin on the artifact bucket only; nothing project-wide", () => {
      const sa = account(d, "mlflow-identity");
      const bucketGrants = ofType(d.result, T.bucketIam);
      expect(bucketGrants.map((g) => g.inputs)).toEqual([{ bucket: one(d.result, T.bucket).state.name, role: "roles/storage.objectAdmin", member: sa.state.member }]);
      expect(ofType(d.result, T.projectIam).filter((g) => g.inputs.member === sa.state.member)).toEqual([]);
      expect(ofType(d.result, T.keyIam).filter((g) => g.inputs.member === sa.state.member)).toEqual([]);
    });

    test("the Foundation annotates MLflow's Kubernetes service account with the e-mail; no pod labels", () => {
      const email = account(d, "mlflow-identity").state.email;
      expect(d.foundationValues.annotations).toEqual({ "iam.gke.io/gcp-service-account": email });
      expect(d.foundationValues.podLabels).toEqual({});
      expect(d.outputs.mlflowIdentity).toBe(email);
      expect(d.foundation.foundation.mlflowIdentity).toMatchObject({ namespace: "mlops", serviceAccountName: "mlflow" });
    });
  });

  describe("Artifact Registry", () => {
    test("a Docker repository in the region with immutable tags", () => {
      const repo = one(d.result, T.repository);
      expect(repo.inputs).toMatchObject({ project: a.project, location: a.region, repositoryId: "mlops", format: "DOCKER", dockerConfig: { immutableTags: true } });
      if (env === "prod") {
        expect(repo.inputs.cleanupPolicies).toEqual([{ id: "delete-untagged", action: "DELETE", condition: { tagState: "UNTAGGED", olderThan: `${30 * 86400}s` } }]);
        expect(repo.inputs.cleanupPolicyDryRun).toBe(false);
      } else {
        expect(repo.inputs.cleanupPolicies).toBeUndefined();
      }
      expect(d.outputs.imageRegistry).toBe(`${a.region}-docker.pkg.dev/${a.project}/mlops`);
    });
  });

  describe("KMS", () => {
    test(env === "prod" ? "three keys rotating every 90 days, protected in Pulumi" : "no keys, and an unprotected empty key ring", () => {
      const keys = ofType(d.result, T.cryptoKey);
      expect(keys.length).toBe(env === "prod" ? 3 : 0);
      for (const k of keys) expect([k.inputs.rotationPeriod, k.inputs.purpose, k.protect, k.inputs.labels.environment]).toEqual([KEY_ROTATION_PERIOD, "ENCRYPT_DECRYPT", true, env]);
      expect(one(d.result, T.keyRing).protect).toBe(env === "prod");
    });
  });

  describe("Foundation and outputs", () => {
    test("the cloud-neutral Foundation", () => {
      const f = d.foundation.foundation;
      expect(f.cloud).toBe("gcp");
      expect(f.kubernetesVersion).toBe(a.cluster.kubernetesVersion);
      expect(f.storage).toEqual({ className: "standard-rwo", dependsOn: [] });
      expect(f.resourceMetrics).toEqual([]);
    });

    test("the stack outputs every foundation exports", () => {
      // `recovery`: what a restore reads (test/infra/backups-and-logs.test.ts).
      expect(Object.keys(d.outputs).sort()).toEqual(["artifactStoreUri", "clusterName", "databaseEndpoint", "imageRegistry", "kubeconfig", "mlflowIdentity", "recovery", "region"]);
      expect(d.outputs).toMatchObject({ clusterName: a.clusterName, region: a.region });
      expect(d.secretOutputs.filter((k) => k.startsWith("out:"))).toEqual(["out:kubeconfig"]);
    });

    test("component tree: mlops:gcp:* components, every resource under the foundation", () => {
      const components = d.result.resources.filter((r) => !r.custom).map((r) => r.type);
      expect(new Set(components)).toEqual(
        new Set(["mlops:gcp:Foundation", "mlops:gcp:ProjectApis", "mlops:gcp:Keys", "mlops:gcp:Network", "mlops:gcp:NodeServiceAccount", "mlops:gcp:ImageRegistry", "mlops:gcp:Cluster", "mlops:gcp:Database", "mlops:gcp:ArtifactStore", "mlops:gcp:WorkloadServiceAccount"]),
      );
      const root = one(d.result, "mlops:gcp:Foundation");
      for (const r of d.result.resources) if (r !== root) expect(r.parent).toBeDefined();
    });
  });
});

describe("upgrades", () => {
  const withArgs = (change: (a: ReturnType<typeof prodArgs>) => void) => {
    const a = prodArgs();
    change(a);
    return declareFoundation(a);
  };
  const diff = (x: Record<string, any>, y: Record<string, any>) =>
    [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((k) => JSON.stringify(x[k]) !== JSON.stringify(y[k]));

  test("a PostgreSQL major-version bump changes databaseVersion only (Cloud SQL upgrades in place; same URN, no name input)", async () => {
    const next = await withArgs((a) => (a.database.postgresVersion = "17"));
    const before = one(envs.prod.result, T.sql);
    const after = one(next.result, T.sql);
    expect(after.urn).toBe(before.urn);
    expect(diff(before.inputs, after.inputs)).toEqual(["databaseVersion"]);
    expect(after.inputs.databaseVersion).toBe("POSTGRES_17");
    expect(diff(one(envs.prod.result, T.sqlUser).inputs, one(next.result, T.sqlUser).inputs)).toEqual([]);
  });

  test("a Kubernetes minor bump raises the control plane's minimum; the node pool's inputs stay (auto-upgrade moves the nodes)", async () => {
    const next = await withArgs((a) => (a.cluster.kubernetesVersion = "1.34"));
    expect(diff(one(envs.prod.result, T.cluster).inputs, one(next.result, T.cluster).inputs)).toEqual(["minMasterVersion"]);
    expect(one(next.result, T.cluster).inputs.minMasterVersion).toBe("1.34");
    const pool = one(next.result, T.nodePool);
    expect(diff(one(envs.prod.result, T.nodePool).inputs, pool.inputs)).toEqual([]);
    expect(pool.inputs.management.autoUpgrade).toBe(true);
  });

  test("PostgreSQL 15 maps to POSTGRES_15", async () => {
    const next = await withArgs((a) => (a.database.postgresVersion = "15"));
    expect(one(next.result, T.sql).inputs.databaseVersion).toBe("POSTGRES_15");
  });
});
