/**
 * Velero and the backup stores' pure parts: the chart values per cloud, the Schedule's spec and names,
 * the argument checks, the lifecycle rules of the three buckets (backup objects expire, the file-system
 * backup repository never does), the log writer policy, and the Velero CRD schema check refusing what
 * Velero would refuse. The stacks' use of them: test/infra/backups-and-logs.test.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import { backupLifecycleRules as awsRules } from "../../../components/aws/backup-store";
import { containerLogGroupName, logWriterPolicy } from "../../../components/aws/logs";
import { backupAccountName, backupLifecycleRules as azureRules } from "../../../components/azure/backup-store";
import { workspaceRetentionDays } from "../../../components/azure/logs";
import type { BackupStore } from "../../../components/contracts";
import { backupLifecycleRules as gcpRules } from "../../../components/gcp/backup-store";
import { clusterLogFilter, logBucketId } from "../../../components/gcp/logs";
import { fluentBitValues, logShipperFlows, logShipperNeeded } from "../../../components/kubernetes/log-shipping";
import { policySpecs } from "../../../components/kubernetes/network-policies";
import { checkVeleroArgs, isCron, scheduleName, scheduleSpec, usesFileSystemBackup, VELERO_PLUGINS, veleroFlows, veleroTtl, veleroValues, type VeleroArgs } from "../../../components/kubernetes/velero";
import { BACKUP_EXPIRY_GRACE_DAYS, backupExpiryDays } from "../../../components/shared/backups";
import { platformSchedules } from "../../../infra/operations";
import { PROFILES } from "../../../infra/profiles";
import { validateVeleroObject } from "./support/crds/velero";
import { validateObjects } from "./support/schema";

const empty = () => pulumi.output<Record<string, string>>({});
const store = (provider: BackupStore["provider"]): BackupStore => ({
  provider,
  bucket: pulumi.output("b"),
  prefix: "velero",
  region: pulumi.output("r"),
  config: empty(),
  identity: { namespace: "velero", serviceAccountName: "velero", serviceAccountAnnotations: empty(), podLabels: empty() },
  principal: pulumi.output("p"),
});
const args = (provider: BackupStore["provider"], fileSystemBackup: boolean): VeleroArgs => ({
  store: store(provider),
  kubernetesVersion: "1.33",
  stack: "prod",
  schedules: [
    { name: "platform", cron: "0 */6 * * *", retentionDays: 30, namespaces: ["mlops"], fileSystemBackup: false },
    { name: "monitoring", cron: "0 */6 * * *", retentionDays: 30, namespaces: ["monitoring"], fileSystemBackup },
  ],
});

describe("Velero's chart values", () => {
  test.each(["aws", "gcp", "azure"] as const)("%s: the cloud's plugin, no credentials Secret, the bucket as the only location, no snapshots", (provider) => {
    const v = veleroValues(args(provider, false)) as any;
    expect(v.initContainers.map((c: any) => c.image)).toEqual([VELERO_PLUGINS[provider].image]);
    expect(v.initContainers[0].securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    expect(v.credentials).toEqual({ useSecret: false });
    expect(v.configuration.backupStorageLocation).toHaveLength(1);
    expect(v.configuration.backupStorageLocation[0]).toMatchObject({ name: "default", provider, prefix: "velero", default: true });
    expect(v.configuration.volumeSnapshotLocation).toEqual([]);
    expect(v.snapshotsEnabled).toBe(false);
    expect(v.deployNodeAgent).toBe(false);
    expect(v.nodeAgent).toBeUndefined();
    expect(v.podSecurityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
    expect(v.containerSecurityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    expect(v.tolerations).toBeUndefined();
  });

  test("file-system backup in any Schedule deploys the node agent, with the foundation's tolerations", () => {
    const spot = { key: "kubernetes.azure.com/scalesetpriority", operator: "Equal" as const, value: "spot", effect: "NoSchedule" as const };
    const v = veleroValues({ ...args("azure", true), tolerations: [spot] }) as any;
    expect(usesFileSystemBackup(args("azure", true))).toBe(true);
    expect(v.deployNodeAgent).toBe(true);
    expect(v.nodeAgent.tolerations).toEqual([spot]);
    expect(v.tolerations).toEqual([spot]);
    expect(v.configuration.uploaderType).toBe("kopia");
  });

  test("the plugins' pins share Velero's compatibility line", () => {
    const tags = Object.values(VELERO_PLUGINS).map((p) => /:v(\d+\.\d+)\.\d+$/.exec(p.image)![1]);
    expect(new Set(tags).size).toBe(1);
  });
});

describe("Schedules", () => {
  test("the spec: namespaces, ttl, location, file-system backup, backups kept when the Schedule goes", () => {
    expect(scheduleSpec({ name: "prod-monitoring", namespace: "velero", schedule: "0 */6 * * *", ttl: veleroTtl(30), includedNamespaces: ["monitoring"], fileSystemBackup: true, storageLocation: "default" })).toEqual({
      schedule: "0 */6 * * *",
      useOwnerReferencesInBackup: false,
      template: { includedNamespaces: ["monitoring"], ttl: "720h0m0s", storageLocation: "default", snapshotVolumes: false, defaultVolumesToFsBackup: true },
    });
    expect(veleroTtl(7)).toBe("168h0m0s");
  });

  test("names: <stack>-<name>, DNS-safe, short enough for the backup names' labels", () => {
    expect(scheduleName("prod", "platform")).toBe("prod-platform");
    expect(scheduleName("Azure_Prod.EU", "monitoring")).toBe("azure-prod-eu-monitoring");
    expect(scheduleName("x".repeat(80), "monitoring").length).toBeLessThanOrEqual(47);
    expect(() => scheduleName("___", "platform")).toThrow(/cannot make a Velero Schedule name/);
  });

  test("cron expressions: five numeric fields in range", () => {
    for (const c of ["0 3 * * *", "0 */6 * * *", "30 1,13 * * 1-5", "*/15 * * * *"]) expect([c, isCron(c)]).toEqual([c, true]);
    for (const c of ["0 3 * *", "60 3 * * *", "0 24 * * *", "0 */0 * * *", "@daily", "0 0 3 * * *", "a b c d e"]) expect([c, isCron(c)]).toEqual([c, false]);
  });

  test("refused before anything is declared: a bad cron, a zero retention, no namespace, a repeated name", () => {
    const bad = { stack: "prod", schedules: [{ name: "platform", cron: "daily", retentionDays: 0, namespaces: [], fileSystemBackup: false }, { name: "platform", cron: "0 3 * * *", retentionDays: 7, namespaces: ["mlops"], fileSystemBackup: false }] };
    expect(() => checkVeleroArgs(bad)).toThrow(
      /schedule "platform": "daily" is not a five-field cron expression[\s\S]*retention 0 must be a whole number of days >= 1[\s\S]*names no namespace[\s\S]*schedule names repeat/,
    );
    expect(() => checkVeleroArgs({ stack: "prod", schedules: [] })).toThrow(/no Schedule/);
  });

  test("the profiles' Schedules: the workloads' objects, and monitoring with the profile's file-system backup", () => {
    for (const env of ["dev", "prod"] as const) {
      const s = platformSchedules(PROFILES[env]);
      expect(s.map((x) => [x.name, x.namespaces, x.fileSystemBackup, x.cron, x.retentionDays])).toEqual([
        ["platform", ["mlops"], false, PROFILES[env].backups.schedule, PROFILES[env].backups.retentionDays],
        ["monitoring", ["monitoring"], PROFILES[env].backups.fileSystemBackup, PROFILES[env].backups.schedule, PROFILES[env].backups.retentionDays],
      ]);
      expect(() => checkVeleroArgs({ stack: "prod", schedules: s })).not.toThrow();
    }
  });
});

describe("network flows of Velero and the log shipper", () => {
  test.each([
    ["velero", veleroFlows("velero")],
    ["logging", logShipperFlows("logging")],
  ])("%s: every pod may resolve names and speak HTTPS out, nothing else, nothing in", (ns, flows) => {
    const specs = policySpecs(ns, flows);
    expect(Object.keys(specs)).toEqual(["allow-all-pods"]);
    expect(specs["allow-all-pods"]).toEqual({
      podSelector: { matchLabels: {} },
      policyTypes: ["Egress"],
      egress: [
        { to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }], ports: [{ port: 53, protocol: "UDP" }, { port: 53, protocol: "TCP" }] },
        { ports: [{ port: 443, protocol: "TCP" }] },
      ],
    });
  });
});

describe("the backup buckets' lifecycle", () => {
  const prod = { retentionDays: 30, noncurrentVersionExpirationDays: 30, coldStorageAfterDays: 30, abortIncompleteUploadDays: 7, forceDestroy: false };

  test("backup objects expire a grace after Velero's ttl, never before it", () => {
    expect(backupExpiryDays(30)).toBe(30 + BACKUP_EXPIRY_GRACE_DAYS);
    expect(() => backupExpiryDays(0)).toThrow(/>= 1/);
  });

  test("S3: only velero/backups/ expires; noncurrent versions and uploads everywhere; STANDARD_IA no earlier than S3 allows", () => {
    const rules = awsRules(prod);
    const expiring = rules.filter((r) => r.expiration);
    expect(expiring).toEqual([{ id: "expire-old-backups", status: "Enabled", filter: { prefix: "velero/backups/" }, expiration: { days: 37 } }]);
    expect(rules.find((r) => r.id === "cold-storage")!.transitions).toEqual([{ days: 30, storageClass: "STANDARD_IA" }]);
    expect(awsRules({ ...prod, coldStorageAfterDays: 10 }).find((r) => r.id === "cold-storage")!.transitions).toEqual([{ days: 30, storageClass: "STANDARD_IA" }]);
    expect(awsRules({ ...prod, coldStorageAfterDays: undefined }).map((r) => r.id)).toEqual(["abort-incomplete-uploads", "expire-noncurrent-versions", "expire-old-backups"]);
  });

  test("GCS: the same, live objects under velero/backups/ only", () => {
    const rules = gcpRules(prod);
    const deletesLive = rules.filter((r) => r.action.type === "Delete" && r.condition.withState === "LIVE");
    expect(deletesLive).toEqual([{ action: { type: "Delete" }, condition: { age: 37, matchesPrefixes: ["velero/backups/"], withState: "LIVE" } }]);
    expect(rules).toContainEqual({ action: { type: "SetStorageClass", storageClass: "NEARLINE" }, condition: { age: 30, matchesStorageClasses: ["STANDARD"] } });
  });

  test("Azure: the same, within the backups container", () => {
    const rules = azureRules(prod);
    const deleting = rules.filter((r) => r.definition.actions.baseBlob?.delete);
    expect(deleting.map((r) => r.definition.filters.prefixMatch)).toEqual([["backups/velero/backups/"]]);
    expect(backupAccountName("mlops-prod", "sub/stack")).toMatch(/^mlopsprodbak[0-9a-f]{8}$/);
  });
});

describe("log shipping", () => {
  test("AWS: one group per cluster; the shipper writes streams there and nowhere else", () => {
    expect(containerLogGroupName("mlops-prod")).toBe("/aws/eks/mlops-prod/containers");
    const arn = "arn:aws:logs:us-west-2:123456789012:log-group:/aws/eks/mlops-prod/containers:*";
    const doc = JSON.parse(logWriterPolicy(arn));
    expect(doc.Statement).toEqual([
      {
        Sid: "WriteContainerLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
        Resource: ["arn:aws:logs:us-west-2:123456789012:log-group:/aws/eks/mlops-prod/containers", "arn:aws:logs:us-west-2:123456789012:log-group:/aws/eks/mlops-prod/containers:*"],
      },
    ]);
    expect(JSON.stringify(doc)).not.toMatch(/CreateLogGroup|PutRetentionPolicy|"\*"/);
  });

  test("Fluent Bit's values: cloudwatch_logs into the existing group, every other output off, every node", () => {
    const identity = { namespace: "logging", serviceAccountName: "fluent-bit", serviceAccountAnnotations: empty(), podLabels: empty() };
    const v = fluentBitValues({ kind: "cloudwatch", logGroupName: pulumi.output("g"), region: pulumi.output("r"), identity, retentionDays: 7 }, { cpuRequest: "1", memoryRequest: "1", cpuLimit: "1", memoryLimit: "1" }) as any;
    expect(v.cloudWatchLogs).toMatchObject({ enabled: true, autoCreateGroup: false });
    for (const off of ["cloudWatch", "firehose", "kinesis", "kinesis_streams", "elasticsearch", "s3", "opensearch"]) expect([off, v[off].enabled]).toEqual([off, false]);
    expect(v.tolerations).toEqual([{ operator: "Exists" }]);
    expect(logShipperNeeded({ kind: "stdout" })).toBe(false);
    expect(logShipperNeeded(undefined)).toBe(false);
  });

  test("GKE: the cluster's resource types to a bucket named after it; Azure: 30 days at least", () => {
    expect(logBucketId("mlops-prod")).toBe("mlops-prod-logs");
    expect(clusterLogFilter("mlops-prod")).toBe('resource.type=("k8s_container" OR "k8s_pod" OR "k8s_node" OR "k8s_cluster" OR "k8s_control_plane_component") AND resource.labels.cluster_name="mlops-prod"');
    expect(workspaceRetentionDays(7)).toBe(30);
    expect(workspaceRetentionDays(90)).toBe(90);
  });
});

describe("the Velero CRD schema check refuses what Velero would", () => {
  const good = () => ({
    apiVersion: "velero.io/v1",
    kind: "Schedule",
    metadata: { name: "prod-platform", namespace: "velero", labels: { "app.kubernetes.io/name": "velero" } },
    spec: { schedule: "0 */6 * * *", useOwnerReferencesInBackup: false, template: { includedNamespaces: ["mlops"], ttl: "720h0m0s", storageLocation: "default", snapshotVolumes: false, defaultVolumesToFsBackup: false } },
  });

  test("a valid Schedule passes both checks", () => {
    expect(validateVeleroObject(good())).toEqual([]);
    expect(validateObjects([good()])).toEqual([]);
  });

  test.each([
    ["a six-field cron", (o: any) => (o.spec.schedule = "0 0 */6 * * *"), /spec.schedule "0 0 \*\/6 \* \* \*" is not a cron expression/],
    ["a ttl in days", (o: any) => (o.spec.template.ttl = "30d"), /spec.template.ttl "30d" is not a duration/],
    ["a name too long for a label", (o: any) => (o.metadata.name = "x".repeat(64)), /must be a DNS label of at most 63 characters/],
    ["no namespace", (o: any) => delete o.metadata.namespace, /metadata.namespace is required/],
    ["an upper-case namespace", (o: any) => (o.spec.template.includedNamespaces = ["MLOps"]), /"MLOps" is not a namespace name/],
  ])("runtime: %s", (_what, change, message) => {
    const o = good();
    change(o);
    expect(validateVeleroObject(o).join("\n")).toMatch(message);
    expect(validateObjects([o]).map((p) => p.message).join("\n")).toMatch(message);
  });

  test("strict: a misspelled field of the template, a field of another kind", () => {
    const typo = good() as any;
    typo.spec.template.includeNamespaces = ["mlops"];
    expect(validateObjects([typo]).map((p) => p.message).join("\n")).toMatch(/includeNamespaces/);
    const wrong = good() as any;
    wrong.spec.ttl = "720h0m0s";
    expect(validateObjects([wrong]).map((p) => p.message).join("\n")).toMatch(/"ttl"' does not exist/);
  });
});
