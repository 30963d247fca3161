/**
 * Backup and restore, and log shipping (issue 14), on what the seven stacks declare under Pulumi's
 * mocks: the backup bucket of each cloud (versioning, encryption, lifecycle, no public access), Velero's
 * identity trusting exactly its service account, the Schedule of the platform's namespaces with the
 * profile's cadence and ttl (valid against the Velero CRD), the log shipper or the cloud's own and their
 * retention, and the stack outputs a restore reads. Nothing reaches a cloud.
 */
import { NAMESPACES, VELERO_SERVICE_ACCOUNT, LOG_SHIPPER_SERVICE_ACCOUNT } from "../../components/kubernetes/constants";
import { AWS_FOR_FLUENT_BIT_CHART } from "../../components/kubernetes/log-shipping";
import { REPOSITORY_SECRET, VELERO_CHART, VELERO_IMAGE, VELERO_PLUGINS, veleroTtl } from "../../components/kubernetes/velero";
import { BACKUP_EXPIRY_GRACE_DAYS } from "../../components/shared/backups";
import { PROFILES } from "../../infra/profiles";
import type { DeclaredResource, PlanResult } from "../../scripts/plan/harness";
import { GCP_PROJECT_NUMBER } from "../../scripts/plan/mocks/gcp";
import { toObjects, type K8sObject } from "../components/kubernetes/support/plan";
import { validateObjects } from "../components/kubernetes/support/schema";
import { ofType, one, plan, policyDocument } from "../helpers/plan";

const STACKS = ["dev", "prod", "gcp-dev", "gcp-prod", "azure-dev", "azure-prod", "local"] as const;
type Stack = (typeof STACKS)[number];
const CLOUD: Record<Stack, "aws" | "gcp" | "azure" | "local"> = { dev: "aws", prod: "aws", "gcp-dev": "gcp", "gcp-prod": "gcp", "azure-dev": "azure", "azure-prod": "azure", local: "local" };
const ENV: Record<Stack, "dev" | "prod"> = { dev: "dev", prod: "prod", "gcp-dev": "dev", "gcp-prod": "prod", "azure-dev": "dev", "azure-prod": "prod", local: "dev" };
const CLOUD_STACKS = STACKS.filter((s) => s !== "local");

const plans = {} as Record<Stack, PlanResult>;
beforeAll(async () => {
  for (const stack of STACKS) plans[stack] = await plan({ stack });
});

/** Resources declared inside a component of the given type (at any depth: a URN names its parent's type only). */
const inside = (r: PlanResult, componentType: string) => {
  const byUrn = new Map(r.resources.map((x) => [x.urn, x]));
  const within = (x: DeclaredResource): boolean => {
    const parent = x.parent ? byUrn.get(x.parent) : undefined;
    return parent !== undefined && (parent.type === componentType || within(parent));
  };
  return r.resources.filter(within);
};
const insideOne = (r: PlanResult, componentType: string, type: string) => {
  const found = inside(r, componentType).filter((x) => x.type === type);
  if (found.length !== 1) throw new Error(`expected one ${type} inside ${componentType}, found ${found.length}`);
  return found[0];
};
const k8sObjects = (r: PlanResult): K8sObject[] => toObjects(r.resources);
const schedules = (r: PlanResult) => k8sObjects(r).filter((o) => o.kind === "Schedule");
const veleroRelease = (r: PlanResult) => one({ ...r, resources: inside(r, "mlops:kubernetes:Velero") } as PlanResult, "kubernetes:helm.sh/v3:Release");
const idOf = (r: DeclaredResource) => r.id ?? `${r.name}-id`;

describe.each(CLOUD_STACKS)("stack %s: Velero", (stack) => {
  let r: PlanResult;
  const profile = PROFILES[ENV[stack]].backups;
  beforeAll(() => {
    r = plans[stack];
  });

  test("a Schedule per platform namespace, named after the stack, with the profile's cadence and ttl; the monitoring one with the profile's file-system backup", () => {
    const all = schedules(r);
    expect(all.map((s) => s.metadata.name).sort()).toEqual([`${stack}-monitoring`, `${stack}-platform`]);
    const covered = all.flatMap((s) => s.spec.template.includedNamespaces).sort();
    expect(covered).toEqual([NAMESPACES.monitoring, NAMESPACES.platform].sort());
    for (const s of all) {
      const monitoring = s.metadata.name === `${stack}-monitoring`;
      expect(s).toMatchObject({ apiVersion: "velero.io/v1", kind: "Schedule", metadata: { namespace: VELERO_SERVICE_ACCOUNT.namespace } });
      expect(s.spec.schedule).toBe(profile.schedule);
      expect(s.spec.schedule.split(" ")).toHaveLength(5);
      expect(s.spec.template).toEqual({
        includedNamespaces: [monitoring ? NAMESPACES.monitoring : NAMESPACES.platform],
        ttl: veleroTtl(profile.retentionDays),
        storageLocation: "default",
        snapshotVolumes: false,
        // The workloads' state is in the database and the bucket; their volumes are scratch space.
        defaultVolumesToFsBackup: monitoring && profile.fileSystemBackup,
      });
      expect(s.spec.template.ttl).toMatch(/^\d+h0m0s$/);
      expect(s.spec.useOwnerReferencesInBackup).toBe(false);
      expect(s.spec.skipImmediately).toBeUndefined();
      // The CRD comes with the chart: the Schedule waits for the release.
      expect(s.resource.dependencies).toContain(veleroRelease(r).urn);
    }
  });

  test("the Schedule and the other Velero objects are valid against their schemas (the Velero CRD for the Schedule)", () => {
    const objects = k8sObjects({ ...r, resources: inside(r, "mlops:kubernetes:Velero") } as PlanResult);
    expect(objects.map((o) => o.kind).sort()).toEqual(expect.arrayContaining(["Namespace", "NetworkPolicy", "Schedule"]));
    expect(validateObjects(objects)).toEqual([]);
  });

  test("the chart, Velero's image and the cloud's plugin at their pins; workload identity, no credentials Secret", () => {
    const release = veleroRelease(r).inputs;
    expect(release).toMatchObject({ chart: VELERO_CHART.chart, version: VELERO_CHART.version, repositoryOpts: { repo: VELERO_CHART.repo }, namespace: "velero", atomic: true });
    expect(release.version).toMatch(/^\d+\.\d+\.\d+$/);
    const v = release.values;
    expect(v.image).toEqual({ repository: VELERO_IMAGE.repository, tag: VELERO_IMAGE.tag });
    expect(v.initContainers).toHaveLength(1);
    expect(v.initContainers[0]).toMatchObject({ name: VELERO_PLUGINS[CLOUD[stack] as "aws"].name, image: VELERO_PLUGINS[CLOUD[stack] as "aws"].image });
    expect(v.initContainers[0].image).toMatch(/^docker\.io\/velero\/velero-plugin-for-[a-z-]+:v\d+\.\d+\.\d+$/);
    expect(v.credentials).toEqual({ useSecret: false });
    expect(v.serviceAccount.server).toMatchObject({ create: true, name: VELERO_SERVICE_ACCOUNT.name });
    expect(JSON.stringify(v)).not.toMatch(/aws_secret_access_key|AZURE_CLIENT_SECRET|private_key|storageAccountKeyEnvVar/);
    expect(v.configuration.backupStorageLocation).toHaveLength(1);
    expect(v.configuration.backupStorageLocation[0]).toMatchObject({ name: "default", provider: CLOUD[stack], prefix: "velero", default: true, accessMode: "ReadWrite" });
    expect(v.configuration.extraArgs).toEqual(["--schedule-skip-immediately=true"]);
    expect(v.snapshotsEnabled).toBe(false);
    expect(v.upgradeCRDs).toBe(false);
    expect(v.deployNodeAgent).toBe(profile.fileSystemBackup);
  });

  test("Velero's namespace: default-deny both ways, then DNS and HTTPS out only; Pod Security follows the node agent", () => {
    const objects = k8sObjects(r).filter((o) => o.metadata.namespace === "velero" || (o.kind === "Namespace" && o.metadata.name === "velero"));
    const ns = objects.find((o) => o.kind === "Namespace")!;
    expect(ns.metadata.labels!["pod-security.kubernetes.io/enforce"]).toBe(profile.fileSystemBackup ? "privileged" : "restricted");
    expect(ns.metadata.labels!["pod-security.kubernetes.io/warn"]).toBe("restricted");
    const policies = objects.filter((o) => o.kind === "NetworkPolicy");
    expect(policies.find((p) => p.metadata.name === "default-deny")!.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    const allow = policies.find((p) => p.metadata.name === "allow-all-pods")!.spec;
    expect(allow.policyTypes).toEqual(["Egress"]);
    expect(allow.egress.flatMap((e: any) => e.ports.map((p: any) => `${p.protocol}/${p.port}`)).sort()).toEqual(["TCP/443", "TCP/53", "UDP/53"]);
    const metadata = policies.filter((p) => p.metadata.name.startsWith("allow-metadata-server"));
    // Workload Identity on GKE goes through the metadata server; IRSA and Azure's tokens are HTTPS.
    expect(metadata.map((p) => p.spec.egress[0].to[0].ipBlock.cidr).sort()).toEqual(CLOUD[stack] === "gcp" ? ["169.254.169.252/32", "169.254.169.254/32"] : []);
  });

  test("file-system backup where the profile asks: a generated repository password in a Secret and a secret stack output", () => {
    const secret = k8sObjects(r).find((o) => o.kind === "Secret" && o.metadata.name === REPOSITORY_SECRET.name);
    if (!profile.fileSystemBackup) {
      expect(secret).toBeUndefined();
      expect(r.outputs.backupRepositoryPassword).toBeUndefined();
      return;
    }
    expect(secret!.metadata.namespace).toBe("velero");
    expect(secret!.secretPaths).toEqual(expect.arrayContaining([expect.stringMatching(/^stringData/)]));
    // Generated (@pulumi/random, 40 letters and digits; the mocks answer a stand-in).
    expect(String(secret!.stringData[REPOSITORY_SECRET.key]).length).toBeGreaterThanOrEqual(40);
    expect(r.outputs.backupRepositoryPassword).toBe(secret!.stringData[REPOSITORY_SECRET.key]);
    expect(r.secretOutputs).toContain("backupRepositoryPassword");
  });

  test("the stack outputs name the Schedules and the backup store a restore reads", () => {
    const common = { namespace: "velero", schedule: profile.schedule, ttl: veleroTtl(profile.retentionDays), storageLocation: "default" };
    expect(r.outputs.backupSchedules).toEqual([
      { ...common, name: `${stack}-platform`, includedNamespaces: ["mlops"], fileSystemBackup: false },
      { ...common, name: `${stack}-monitoring`, includedNamespaces: ["monitoring"], fileSystemBackup: profile.fileSystemBackup },
    ]);
    const recovery = r.outputs.recovery as any;
    expect(recovery.backupStore).toMatchObject({ provider: CLOUD[stack], prefix: "velero" });
    expect(recovery.backupStore.bucket).toBe(veleroRelease(r).inputs.values.configuration.backupStorageLocation[0].bucket);
    expect(r.secretOutputs).not.toContain("recovery");
    expect(r.secretOutputs).not.toContain("backupSchedules");
  });
});

describe.each(["dev", "prod"] as const)("AWS %s: the backup bucket and Velero's IRSA role", (stack) => {
  let r: PlanResult;
  const p = PROFILES[stack];
  const S = "mlops:aws:BackupStore";
  beforeAll(() => {
    r = plans[stack];
  });
  const bucket = () => insideOne(r, S, "aws:s3/bucket:Bucket");
  const companion = (type: string) => {
    const found = ofType(r, type).filter((x) => x.inputs.bucket === bucket().state.bucket);
    expect(found).toHaveLength(1);
    return found[0];
  };

  test("a bucket of its own, apart from the artifact store: private, versioned, SSE-KMS with its own key, TLS only", () => {
    const artifacts = inside(r, "mlops:aws:ArtifactStore").find((b) => b.type === "aws:s3/bucket:Bucket")!;
    expect(bucket().state.bucket).not.toBe(artifacts.state.bucket);
    expect(bucket().inputs.forceDestroy).toBe(p.artifactStore.forceDestroy);
    expect(companion("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs).toMatchObject({ blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
    expect(companion("aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs.rule).toEqual({ objectOwnership: "BucketOwnerEnforced" });
    expect(companion("aws:s3/bucketVersioning:BucketVersioning").inputs.versioningConfiguration).toEqual({ status: "Enabled" });
    const key = insideOne(r, S, "aws:kms/key:Key");
    expect(key.inputs.enableKeyRotation).toBe(true);
    const sse = companion("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").inputs.rules[0];
    expect(sse).toEqual({ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: key.state.arn }, bucketKeyEnabled: true });
    const tls = policyDocument(companion("aws:s3/bucketPolicy:BucketPolicy")).Statement;
    expect(tls).toEqual([expect.objectContaining({ Effect: "Deny", Principal: "*", Action: "s3:*", Condition: { Bool: { "aws:SecureTransport": "false" } } })]);
  });

  test("lifecycle: backup objects expire a week after the profile's retention, noncurrent versions expire, uploads aborted, cold storage in prod", () => {
    const rules = companion("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs.rules;
    const byId = Object.fromEntries(rules.map((x: any) => [x.id, x]));
    expect(rules.every((x: any) => x.status === "Enabled")).toBe(true);
    expect(byId["expire-old-backups"]).toMatchObject({ filter: { prefix: "velero/backups/" }, expiration: { days: p.backups.retentionDays + BACKUP_EXPIRY_GRACE_DAYS } });
    expect(byId["expire-noncurrent-versions"].noncurrentVersionExpiration).toEqual({ noncurrentDays: p.backups.noncurrentVersionExpirationDays });
    expect(byId["abort-incomplete-uploads"].abortIncompleteMultipartUpload).toEqual({ daysAfterInitiation: p.artifactStore.abortIncompleteUploadDays });
    if (stack === "prod") expect(byId["cold-storage"].transitions).toEqual([{ days: 30, storageClass: "STANDARD_IA" }]);
    else expect(byId["cold-storage"]).toBeUndefined();
  });

  test("Velero's role: assumable by velero/velero of this cluster only, read/write under velero/ of this bucket, its key through S3 only", () => {
    const role = ofType(r, "aws:iam/role:Role").find((x) => x.name === "mlops-" + stack + "-velero-irsa-role")!;
    const trust = policyDocument(role, "assumeRolePolicy").Statement;
    expect(trust).toHaveLength(1);
    const issuer = Object.keys(trust[0].Condition.StringEquals)[0].replace(/:sub$|:aud$/, "");
    expect(trust[0]).toMatchObject({ Effect: "Allow", Action: "sts:AssumeRoleWithWebIdentity" });
    expect(trust[0].Condition.StringEquals).toEqual({ [`${issuer}:sub`]: "system:serviceaccount:velero:velero", [`${issuer}:aud`]: "sts.amazonaws.com" });
    const policy = policyDocument(ofType(r, "aws:iam/rolePolicy:RolePolicy").find((x) => x.name === `mlops-${stack}-velero-irsa-policy`)!).Statement;
    const arn = bucket().state.arn;
    expect(policy.find((s: any) => s.Sid === "ListPrefix")).toMatchObject({ Action: "s3:ListBucket", Resource: arn, Condition: { StringLike: { "s3:prefix": ["velero", "velero/*"] } } });
    expect(policy.find((s: any) => s.Sid === "ReadWritePrefix").Resource).toBe(`${arn}/velero/*`);
    expect(policy.find((s: any) => s.Sid === "UseBucketKeyThroughS3")).toMatchObject({ Resource: insideOne(r, S, "aws:kms/key:Key").state.arn, Condition: { StringEquals: { "kms:ViaService": "s3.us-west-2.amazonaws.com" } } });
    const values = veleroRelease(r).inputs.values;
    expect(values.serviceAccount.server.annotations).toEqual({ "eks.amazonaws.com/role-arn": role.state.arn });
    expect(values.configuration.backupStorageLocation[0]).toMatchObject({ bucket: bucket().state.bucket, config: { region: "us-west-2", kmsKeyId: insideOne(r, S, "aws:kms/key:Key").state.arn } });
  });

  test("container logs: Fluent Bit (the pinned chart) into a KMS-encrypted log group of the profile's retention, through its own IRSA role", () => {
    const group = ofType(r, "aws:cloudwatch/logGroup:LogGroup").find((g) => g.inputs.name === `/aws/eks/mlops-${stack}/containers`)!;
    expect(group.inputs.retentionInDays).toBe(p.logRetentionDays);
    const logsKey = ofType(r, "aws:kms/key:Key").find((k) => k.name === `mlops-${stack}-logs`)!;
    expect(group.inputs.kmsKeyId).toBe(logsKey.state.arn);
    const role = ofType(r, "aws:iam/role:Role").find((x) => x.name === `mlops-${stack}-logs-shipper-irsa-role`)!;
    const trust = policyDocument(role, "assumeRolePolicy").Statement[0].Condition.StringEquals;
    expect(Object.entries(trust).find(([k]) => k.endsWith(":sub"))![1]).toBe(`system:serviceaccount:${LOG_SHIPPER_SERVICE_ACCOUNT.namespace}:${LOG_SHIPPER_SERVICE_ACCOUNT.name}`);
    const write = policyDocument(ofType(r, "aws:iam/rolePolicy:RolePolicy").find((x) => x.name === `mlops-${stack}-logs-shipper-irsa-policy`)!).Statement;
    expect(write).toEqual([{ Sid: "WriteContainerLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"], Resource: [group.state.arn, `${group.state.arn}:*`] }]);
    const release = one({ ...r, resources: inside(r, "mlops:kubernetes:LogShipper") } as PlanResult, "kubernetes:helm.sh/v3:Release").inputs;
    expect(release).toMatchObject({ chart: AWS_FOR_FLUENT_BIT_CHART.chart, version: AWS_FOR_FLUENT_BIT_CHART.version, repositoryOpts: { repo: AWS_FOR_FLUENT_BIT_CHART.repo }, namespace: "logging" });
    expect(release.values.cloudWatchLogs).toMatchObject({ enabled: true, region: "us-west-2", logGroupName: group.inputs.name, autoCreateGroup: false });
    expect(release.values.cloudWatch.enabled).toBe(false);
    expect(release.values.serviceAccount).toEqual({ create: true, name: "fluent-bit", annotations: { "eks.amazonaws.com/role-arn": role.state.arn } });
    const objects = k8sObjects({ ...r, resources: inside(r, "mlops:kubernetes:LogShipper") } as PlanResult);
    expect(objects.filter((o) => o.kind === "NetworkPolicy").map((o) => o.metadata.name).sort()).toEqual(["allow-all-pods", "default-deny"]);
    expect(validateObjects(objects)).toEqual([]);
    expect((r.outputs.recovery as any).logs).toEqual({ kind: "cloudwatch", destination: group.inputs.name, retentionDays: p.logRetentionDays });
  });

  test("the recovery output names the RDS instance, its subnet group, security group and parameter group", () => {
    const db = one(r, "aws:rds/instance:Instance");
    expect((r.outputs.recovery as any).database).toEqual({
      kind: "rds",
      instance: db.inputs.identifier,
      region: "us-west-2",
      subnetGroup: db.inputs.dbSubnetGroupName,
      securityGroupIds: db.inputs.vpcSecurityGroupIds,
      parameterGroup: db.inputs.parameterGroupName,
      backupRetentionDays: db.inputs.backupRetentionPeriod,
    });
  });
});

describe.each(["gcp-dev", "gcp-prod"] as const)("GCP %s: the backup bucket, Velero's Google service account, Cloud Logging", (stack) => {
  let r: PlanResult;
  const p = PROFILES[ENV[stack]];
  beforeAll(() => {
    r = plans[stack];
  });
  const bucket = () => insideOne(r, "mlops:gcp:BackupStore", "gcp:storage/bucket:Bucket");

  test("a bucket of its own: IAM only, public access prevented, versioned, CMEK in prod, lifecycle from the profile", () => {
    const b = bucket().inputs;
    expect(b).toMatchObject({ uniformBucketLevelAccess: true, publicAccessPrevention: "enforced", versioning: { enabled: true }, forceDestroy: p.artifactStore.forceDestroy });
    const rules = b.lifecycleRules;
    expect(rules).toEqual(
      expect.arrayContaining([
        { action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: p.backups.noncurrentVersionExpirationDays, withState: "ARCHIVED" } },
        { action: { type: "AbortIncompleteMultipartUpload" }, condition: { age: p.artifactStore.abortIncompleteUploadDays } },
        { action: { type: "Delete" }, condition: { age: p.backups.retentionDays + BACKUP_EXPIRY_GRACE_DAYS, matchesPrefixes: ["velero/backups/"], withState: "LIVE" } },
      ]),
    );
    if (stack === "gcp-prod") {
      const key = ofType(r, "gcp:kms/cryptoKey:CryptoKey").find((k) => k.name.endsWith("-kms-backups"))!;
      expect(b.encryption).toEqual({ defaultKmsKeyName: idOf(key) });
      expect(rules).toContainEqual({ action: { type: "SetStorageClass", storageClass: "NEARLINE" }, condition: { age: 30, matchesStorageClasses: ["STANDARD"] } });
    } else {
      expect(b.encryption).toBeUndefined();
    }
  });

  test("Velero's Google service account: impersonated by velero/velero only, object admin on the backup bucket only, signs blobs as itself", () => {
    const account = ofType(r, "gcp:serviceaccount/account:Account").find((a) => a.name === "mlops-" + ENV[stack] + "-velero-identity-sa")!;
    const members = ofType(r, "gcp:serviceaccount/iAMMember:IAMMember").filter((m) => m.name.startsWith("mlops-" + ENV[stack] + "-velero-identity-"));
    expect(members.map((m) => [m.inputs.role, m.inputs.member]).sort()).toEqual(
      [
        ["roles/iam.workloadIdentityUser", `serviceAccount:${r.config["gcp:project"]}.svc.id.goog[velero/velero]`],
        ["roles/iam.serviceAccountTokenCreator", account.state.member],
      ].sort(),
    );
    for (const m of members) expect(m.inputs.serviceAccountId).toBe(account.state.name);
    const grants = ofType(r, "gcp:storage/bucketIAMMember:BucketIAMMember").filter((g) => g.inputs.member === account.state.member);
    expect(grants.map((g) => [g.inputs.bucket, g.inputs.role])).toEqual([[bucket().state.name, "roles/storage.objectAdmin"]]);
    const values = veleroRelease(r).inputs.values;
    expect(values.serviceAccount.server.annotations).toEqual({ "iam.gke.io/gcp-service-account": account.state.email });
    expect(values.configuration.backupStorageLocation[0]).toMatchObject({ bucket: bucket().state.name, config: { serviceAccount: account.state.email } });
    expect(GCP_PROJECT_NUMBER).toBeTruthy();
  });

  test("logs: GKE ships system components and workloads; a log bucket of the profile's retention receives them, _Default does not", () => {
    const gke = one(r, "gcp:container/cluster:Cluster").inputs;
    expect(gke.loggingConfig.enableComponents).toEqual(expect.arrayContaining(["SYSTEM_COMPONENTS", "WORKLOADS", "APISERVER"]));
    const logBucket = one(r, "gcp:logging/projectBucketConfig:ProjectBucketConfig").inputs;
    expect(logBucket).toMatchObject({ bucketId: "mlops-" + ENV[stack] + "-logs", location: "europe-west4", retentionDays: p.logRetentionDays });
    const sink = one(r, "gcp:logging/projectSink:ProjectSink").inputs;
    expect(sink.destination).toBe(`logging.googleapis.com/projects/${logBucket.project}/locations/europe-west4/buckets/${logBucket.bucketId}`);
    expect(sink.filter).toContain(`resource.labels.cluster_name="${gke.name}"`);
    expect(sink.filter).toContain('"k8s_container"');
    const exclusion = one(r, "gcp:logging/projectExclusion:ProjectExclusion");
    expect(exclusion.inputs.filter).toBe(sink.filter);
    expect(exclusion.dependencies).toContain(one(r, "gcp:logging/projectSink:ProjectSink").urn);
    expect(ofType(r, "gcp:projects/service:Service").map((s) => s.inputs.service)).toContain("logging.googleapis.com");
    expect(inside(r, "mlops:kubernetes:LogShipper")).toEqual([]);
    expect((r.outputs.recovery as any).logs).toEqual({ kind: "managed", destination: `projects/${logBucket.project}/locations/europe-west4/buckets/${logBucket.bucketId}`, retentionDays: p.logRetentionDays });
  });

  test("the recovery output names the Cloud SQL instance and its project", () => {
    const sql = one(r, "gcp:sql/databaseInstance:DatabaseInstance");
    expect((r.outputs.recovery as any).database).toEqual({
      kind: "cloudsql",
      instance: sql.state.name,
      project: r.config["gcp:project"],
      region: "europe-west4",
      backupRetentionDays: sql.inputs.settings.backupConfiguration.backupRetentionSettings.retainedBackups,
    });
    expect(sql.inputs.settings.backupConfiguration.pointInTimeRecoveryEnabled).toBe(true);
  });
});

describe.each(["azure-dev", "azure-prod"] as const)("Azure %s: the backup account, Velero's managed identity, Container Insights", (stack) => {
  let r: PlanResult;
  const p = PROFILES[ENV[stack]];
  beforeAll(() => {
    r = plans[stack];
  });
  const account = () => insideOne(r, "mlops:azure:BackupStore", "azure-native:storage:StorageAccount");
  const container = () => insideOne(r, "mlops:azure:BackupStore", "azure-native:storage:BlobContainer");

  test("a storage account of its own: Entra ID only, TLS 1.2, no public access, AKS subnet only, versioned, CMK in prod", () => {
    const a = account().inputs;
    const artifacts = inside(r, "mlops:azure:ArtifactStore").find((x) => x.type === "azure-native:storage:StorageAccount")!;
    expect(a.accountName).not.toBe(artifacts.inputs.accountName);
    expect(a.accountName).toMatch(/^[a-z0-9]{3,24}$/);
    expect(a).toMatchObject({ allowBlobPublicAccess: false, allowSharedKeyAccess: false, minimumTlsVersion: "TLS1_2", enableHttpsTrafficOnly: true, networkRuleSet: { defaultAction: "Deny", bypass: "None" } });
    expect(a.networkRuleSet.virtualNetworkRules).toHaveLength(1);
    expect(container().inputs).toMatchObject({ containerName: "backups", publicAccess: "None" });
    expect(insideOne(r, "mlops:azure:BackupStore", "azure-native:storage:BlobServiceProperties").inputs).toMatchObject({ isVersioningEnabled: true, deleteRetentionPolicy: { enabled: true } });
    if (stack === "azure-prod") {
      expect(a.encryption).toMatchObject({ keySource: "Microsoft.Keyvault", keyVaultProperties: { keyName: "backups" } });
      expect(ofType(r, "azure-native:keyvault:Key").map((k) => k.inputs.keyName)).toContain("backups");
    } else {
      expect(a.encryption.keySource).toBe("Microsoft.Storage");
    }
  });

  test("lifecycle: backup blobs deleted a week after the retention, old versions deleted, Cool tier in prod", () => {
    const rules = insideOne(r, "mlops:azure:BackupStore", "azure-native:storage:ManagementPolicy").inputs.policy.rules;
    const byName = Object.fromEntries(rules.map((x: any) => [x.name, x.definition]));
    expect(byName["expire-old-backups"]).toEqual({ filters: { blobTypes: ["blockBlob"], prefixMatch: ["backups/velero/backups/"] }, actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: p.backups.retentionDays + BACKUP_EXPIRY_GRACE_DAYS } } } });
    expect(byName["expire-noncurrent-versions"].actions).toEqual({ version: { delete: { daysAfterCreationGreaterThan: p.backups.noncurrentVersionExpirationDays } } });
    if (stack === "azure-prod") expect(byName["tier-to-cool"].actions.baseBlob.tierToCool).toEqual({ daysAfterModificationGreaterThan: 30 });
    else expect(byName["tier-to-cool"]).toBeUndefined();
  });

  test("Velero's managed identity: a federated credential for velero/velero on this cluster's issuer, Storage Blob Data Contributor on the backup container only", () => {
    const identity = ofType(r, "azure-native:managedidentity:UserAssignedIdentity").find((x) => x.name === `mlops-${ENV[stack]}-velero-identity`)!;
    const federation = ofType(r, "azure-native:managedidentity:FederatedIdentityCredential").find((x) => x.name === `mlops-${ENV[stack]}-velero-federation`)!;
    const aks = one(r, "azure-native:containerservice:ManagedCluster");
    expect(federation.inputs).toMatchObject({ subject: "system:serviceaccount:velero:velero", audiences: ["api://AzureADTokenExchange"], issuer: aks.state.oidcIssuerProfile.issuerURL, resourceName: identity.state.name });
    const grants = ofType(r, "azure-native:authorization:RoleAssignment").filter((g) => g.inputs.principalId === identity.state.principalId);
    expect(grants.map((g) => [String(g.inputs.roleDefinitionId).split("/").pop(), g.inputs.scope])).toEqual([["ba92f5b4-2d11-453d-a403-e96b0029c9fe", idOf(container())]]);
    const values = veleroRelease(r).inputs.values;
    expect(values.serviceAccount.server.annotations).toEqual({ "azure.workload.identity/client-id": identity.state.clientId });
    expect(values.podLabels).toEqual({ "azure.workload.identity/use": "true" });
    expect(values.configuration.backupStorageLocation[0]).toMatchObject({
      bucket: "backups",
      config: { storageAccount: account().inputs.accountName, useAAD: "true", storageAccountURI: `https://${account().inputs.accountName}.blob.core.windows.net/`, resourceGroup: `mlops-${ENV[stack]}-rg` },
    });
  });

  test("logs: the monitoring add-on (Entra ID auth) and a data collection rule send container logs to a workspace of the profile's retention (at least 30 days)", () => {
    const workspace = one(r, "azure-native:operationalinsights:Workspace");
    expect(workspace.inputs).toMatchObject({ retentionInDays: Math.max(30, p.logRetentionDays), features: { disableLocalAuth: true } });
    const aks = one(r, "azure-native:containerservice:ManagedCluster");
    expect(aks.inputs.addonProfiles).toEqual({ omsagent: { enabled: true, config: { logAnalyticsWorkspaceResourceID: idOf(workspace), useAADAuth: "true" } } });
    const dcr = one(r, "azure-native:monitor:DataCollectionRule").inputs;
    expect(dcr.destinations.logAnalytics).toEqual([{ name: "workspace", workspaceResourceId: idOf(workspace) }]);
    expect(dcr.dataSources.extensions[0]).toMatchObject({ extensionName: "ContainerInsights", streams: expect.arrayContaining(["Microsoft-ContainerLogV2"]) });
    expect(dcr.dataFlows).toEqual([{ streams: dcr.dataSources.extensions[0].streams, destinations: ["workspace"] }]);
    const association = one(r, "azure-native:monitor:DataCollectionRuleAssociation").inputs;
    expect(association).toMatchObject({ associationName: "ContainerInsightsExtension", resourceUri: idOf(aks), dataCollectionRuleId: idOf(one(r, "azure-native:monitor:DataCollectionRule")) });
    // One workspace: the audit export (prod) writes to the same one.
    const audit = ofType(r, "azure-native:monitor:DiagnosticSetting");
    expect(audit.map((a) => a.inputs.workspaceId)).toEqual(stack === "azure-prod" ? [idOf(workspace)] : []);
    expect(inside(r, "mlops:kubernetes:LogShipper")).toEqual([]);
  });

  test("the recovery output names the Flexible Server and its resource group", () => {
    const server = one(r, "azure-native:dbforpostgresql:Server");
    expect((r.outputs.recovery as any).database).toEqual({
      kind: "azure-flexible",
      server: server.state.name,
      resourceGroup: `mlops-${ENV[stack]}-rg`,
      location: "westeurope",
      backupRetentionDays: server.inputs.backup.backupRetentionDays,
    });
  });
});

describe("local: Velero skipped, logs on stdout", () => {
  test("no Velero, no Schedule, no log shipper, no backup output; the recovery output says where the database is", () => {
    const r = plans.local;
    expect(inside(r, "mlops:kubernetes:Velero")).toEqual([]);
    expect(schedules(r)).toEqual([]);
    expect(inside(r, "mlops:kubernetes:LogShipper")).toEqual([]);
    expect(r.outputs.backupSchedules).toBeUndefined();
    expect(r.outputs.recovery).toEqual({
      database: { kind: "in-cluster", namespace: "mlops-data", statefulSet: "postgres", database: "mlflow" },
      logs: { kind: "stdout", destination: "kubectl logs", retentionDays: null },
    });
  });
});

describe("the environment profile decides cadence, retention and file-system backup", () => {
  test("dev: daily, 7 days, objects only; prod: every 6 hours, 30 days, with the pods' volumes", () => {
    expect(PROFILES.dev.backups).toMatchObject({ schedule: "0 3 * * *", retentionDays: 7, fileSystemBackup: false });
    expect(PROFILES.prod.backups).toMatchObject({ schedule: "0 */6 * * *", retentionDays: 30, fileSystemBackup: true, coldStorageAfterDays: 30 });
    expect(PROFILES.dev.logRetentionDays).toBe(7);
    expect(PROFILES.prod.logRetentionDays).toBe(90);
  });
});
