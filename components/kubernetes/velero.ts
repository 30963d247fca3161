import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { BackupProvider, BackupStore, Toleration } from "../contracts";
import { PORTS, VELERO_SERVICE_ACCOUNT } from "./constants";
import { pinnedRelease } from "./helm-release";
import { recommendedLabels } from "./labels";
import { createNamespace } from "./namespaces";
import { NetworkPolicies, type Flow, type Peer, type Port } from "./network-policies";
import { containerSecurityContext, type ResourceSpec } from "./pod";

/**
 * The pinned Velero chart (vmware-tanzu), Velero's image and the object-store plugin of each cloud.
 * The plugin's minor line must match Velero's (plugins v1.13.x <-> Velero v1.17.x, the plugins'
 * compatibility tables): bump the four together, read Velero's upgrade notes (Helm does not upgrade
 * CRDs: `velero install --crds-only --dry-run -o yaml | kubectl apply -f -`), and run the tests.
 */
export const VELERO_CHART = {
  chart: "velero",
  version: "11.3.2",
  repo: "https://vmware-tanzu.github.io/helm-charts",
  /** Helm release name; with `fullnameOverride` the Deployment is `velero`. */
  release: "velero",
} as const;
export const VELERO_IMAGE = { repository: "docker.io/velero/velero", tag: "v1.17.1" } as const;
export const VELERO_PLUGINS: Record<BackupProvider, { name: string; image: string }> = {
  aws: { name: "velero-plugin-for-aws", image: "docker.io/velero/velero-plugin-for-aws:v1.13.2" },
  gcp: { name: "velero-plugin-for-gcp", image: "docker.io/velero/velero-plugin-for-gcp:v1.13.2" },
  azure: { name: "velero-plugin-for-microsoft-azure", image: "docker.io/velero/velero-plugin-for-microsoft-azure:v1.13.2" },
};
/** The distroless Velero image's and the plugins' non-root user. */
export const VELERO_UID = 65532;
/** The repository password of file-system backups (Velero creates one with a fixed default value when it is missing). */
export const REPOSITORY_SECRET = { name: "velero-repo-credentials", key: "repository-password" } as const;
/** The BackupStorageLocation the chart creates from the foundation's store. */
export const STORAGE_LOCATION = "default";

export interface VeleroScheduleArgs {
  /** The Schedule is `<stack>-<name>` (e.g. `prod-platform`). */
  name: string;
  /** Cron (UTC, five fields). */
  cron: string;
  retentionDays: number;
  /** Namespaces the Schedule backs up (the platform's: NAMESPACES). */
  namespaces: string[];
  /** Back up the pods' volumes with Velero's node agent (Kopia); off: objects only. */
  fileSystemBackup: boolean;
}

export interface VeleroArgs {
  store: BackupStore;
  /** The cluster's minor version: the namespace's Pod Security labels are pinned to it. */
  kubernetesVersion: string;
  /** The Pulumi stack: the Schedules are named after it, so a restore into another stack names the source's backups unambiguously. */
  stack: string;
  schedules: VeleroScheduleArgs[];
  /** The foundation's tolerations (spot pools): Velero's pods carry them too. */
  tolerations?: Toleration[];
  resources?: { server?: ResourceSpec; nodeAgent?: ResourceSpec };
}

const DEFAULT_RESOURCES = {
  server: { cpuRequest: "200m", memoryRequest: "256Mi", cpuLimit: "1", memoryLimit: "1Gi" },
  nodeAgent: { cpuRequest: "200m", memoryRequest: "512Mi", cpuLimit: "1", memoryLimit: "2Gi" },
  plugin: { cpuRequest: "50m", memoryRequest: "64Mi", cpuLimit: "200m", memoryLimit: "128Mi" },
} satisfies Record<string, ResourceSpec>;

/** What a restore needs to know about a Schedule (the stack output `backupSchedules`). */
export interface ScheduleSummary {
  name: string;
  namespace: string;
  schedule: string;
  ttl: string;
  includedNamespaces: string[];
  fileSystemBackup: boolean;
  storageLocation: string;
}

/**
 * Velero on the foundation's cluster: its namespace with default-deny NetworkPolicies and only the
 * egress it needs, the pinned chart with the cloud's plugin and workload identity (no credentials
 * Secret: `credentials.useSecret` false), and the Schedules of the platform's namespaces with the
 * profile's cadence and ttl. File-system backup (the node agent, Kopia) for the Schedules that ask for
 * it, with a generated repository password.
 */
export class Velero extends pulumi.ComponentResource {
  readonly release: k8s.helm.v3.Release;
  readonly schedules: k8s.apiextensions.CustomResource[];
  readonly summaries: ScheduleSummary[];
  /** The file-system backup repository's password (a Pulumi secret); a restore in another cluster needs it. Unset without file-system backup. */
  readonly repositoryPassword?: pulumi.Output<string>;

  constructor(name: string, args: VeleroArgs, opts?: pulumi.ComponentResourceOptions) {
    checkVeleroArgs(args);
    super("mlops:kubernetes:Velero", name, {}, opts);
    const parent = { parent: this };
    const ns = VELERO_SERVICE_ACCOUNT.namespace;
    const labels = recommendedLabels({ name: "velero", instance: "velero", component: "backup" });
    const fs = usesFileSystemBackup(args);

    // The node agent reads every pod's volumes through a hostPath: only then is the namespace privileged.
    const namespace = createNamespace({ name: ns, enforce: fs ? "privileged" : "restricted", warn: "restricted", kubernetesVersion: args.kubernetesVersion }, parent);
    const policies = new NetworkPolicies(`${name}-policies`, { namespace: namespace.metadata.name, namespaceName: ns, flows: veleroFlows(ns) }, parent);
    const dependsOn: pulumi.Resource[] = [namespace, ...policies.policies];
    for (const [i, endpoint] of (args.store.metadataEndpoints ?? []).entries()) {
      dependsOn.push(
        new k8s.networking.v1.NetworkPolicy(
          `${name}-metadata-${i}`,
          {
            metadata: { name: `allow-metadata-server-${i}`, namespace: namespace.metadata.name, labels: recommendedLabels({ name: "network-policy", instance: ns, component: "network-policy" }) },
            spec: { podSelector: {}, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: endpoint.cidr } }], ports: [{ port: endpoint.port, protocol: "TCP" }] }] },
          },
          parent,
        ),
      );
    }
    if (fs) {
      const password = new random.RandomPassword(`${name}-repository-password`, { length: 40, special: false }, { ...parent, additionalSecretOutputs: ["result"] });
      // A secret in the state and in the stack output, whatever the provider marks.
      this.repositoryPassword = pulumi.secret(password.result);
      dependsOn.push(
        new k8s.core.v1.Secret(
          `${name}-repository`,
          { metadata: { name: REPOSITORY_SECRET.name, namespace: namespace.metadata.name, labels }, type: "Opaque", stringData: pulumi.secret({ [REPOSITORY_SECRET.key]: password.result }) },
          parent,
        ),
      );
    }

    this.release = pinnedRelease(
      `${name}-release`,
      {
        pin: VELERO_CHART,
        namespace: namespace.metadata.name,
        // Helm installs the chart's crds/ on the first install (the CRD upgrade Job stays off: it pulls a kubectl image).
        skipCrds: false,
        values: veleroValues(args),
      },
      { ...parent, dependsOn },
    );

    this.summaries = args.schedules.map((schedule) => ({
      name: scheduleName(args.stack, schedule.name),
      namespace: ns,
      schedule: schedule.cron,
      ttl: veleroTtl(schedule.retentionDays),
      includedNamespaces: [...schedule.namespaces],
      fileSystemBackup: schedule.fileSystemBackup,
      storageLocation: STORAGE_LOCATION,
    }));
    this.schedules = this.summaries.map(
      (summary, i) =>
        new k8s.apiextensions.CustomResource(
          `${name}-schedule-${args.schedules[i].name}`,
          {
            apiVersion: "velero.io/v1",
            kind: "Schedule",
            metadata: { name: summary.name, namespace: ns, labels: recommendedLabels({ name: "velero", instance: summary.name, component: "backup-schedule" }) },
            spec: scheduleSpec(summary),
          },
          // The CRD comes with the release.
          { ...parent, dependsOn: [this.release] },
        ),
    );
    this.registerOutputs({ schedules: this.summaries });
  }
}

/** Refuses, before anything is declared, a Schedule Velero would reject or that backs up nothing. */
export function checkVeleroArgs(args: Pick<VeleroArgs, "schedules" | "stack">): void {
  const problems: string[] = [];
  if (args.schedules.length === 0) problems.push("no Schedule: Velero would back up nothing");
  for (const s of args.schedules) {
    const at = `schedule "${s.name}"`;
    if (!/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/.test(s.name)) problems.push(`${at}: the name must be a short DNS label`);
    if (!isCron(s.cron)) problems.push(`${at}: "${s.cron}" is not a five-field cron expression (minute hour day-of-month month day-of-week)`);
    if (!Number.isInteger(s.retentionDays) || s.retentionDays < 1) problems.push(`${at}: retention ${s.retentionDays} must be a whole number of days >= 1`);
    if (s.namespaces.length === 0) problems.push(`${at}: names no namespace, so it would back up the whole cluster`);
  }
  const names = args.schedules.map((s) => s.name);
  if (new Set(names).size !== names.length) problems.push(`schedule names repeat: ${names.join(", ")}`);
  if (problems.length) throw new Error(`invalid Velero arguments:\n  ${problems.join("\n  ")}`);
  scheduleName(args.stack, "platform");
}

/** Whether any Schedule backs up the pods' volumes: then the node agent runs and the namespace is privileged. */
export function usesFileSystemBackup(args: Pick<VeleroArgs, "schedules">): boolean {
  return args.schedules.some((s) => s.fileSystemBackup);
}

const CRON_FIELD = /^(\*|\d+(-\d+)?)(\/\d+)?(,(\*|\d+(-\d+)?)(\/\d+)?)*$/;
const CRON_RANGES: [number, number][] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];

/** A standard five-field cron expression (what Velero's robfig/cron parser accepts, numbers only). */
export function isCron(expression: string): boolean {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5) return false;
  return fields.every((field, i) => {
    if (!CRON_FIELD.test(field)) return false;
    const [lo, hi] = CRON_RANGES[i];
    return (field.match(/\d+/g) ?? []).every((n, j, all) => {
      // A step (`*/6`) is a count, not a value of the field.
      const isStep = field.includes(`/${n}`) && j === all.length - 1;
      return isStep ? Number(n) > 0 : Number(n) >= lo && Number(n) <= hi;
    });
  });
}

/** The retention as Velero writes a ttl (a Go duration): 7 days -> `168h0m0s`. */
export function veleroTtl(days: number): string {
  return `${days * 24}h0m0s`;
}

/** `<stack>-<name>`, lower-case and DNS-safe: backups are named `<schedule>-<timestamp>`, labels stop at 63 characters. */
export function scheduleName(stack: string, name: string): string {
  const base = stack.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 36).replace(/-+$/, "");
  if (!base) throw new Error(`cannot make a Velero Schedule name from the stack name "${stack}"`);
  return `${base}-${name}`;
}

/**
 * The Schedule's spec: objects of the platform's namespaces (and the cluster-scoped objects they use),
 * kept `ttl`; volumes through file-system backup or not at all (no cloud snapshots: the data that
 * matters lives in the managed database and the artifact bucket). Deleting the Schedule keeps its
 * backups (`useOwnerReferencesInBackup` false). Velero's server runs with `--schedule-skip-immediately`,
 * so a new cluster's Schedule never writes a near-empty backup before the restore reads the last good one.
 */
export function scheduleSpec(s: ScheduleSummary): Record<string, unknown> {
  return {
    schedule: s.schedule,
    useOwnerReferencesInBackup: false,
    template: {
      includedNamespaces: s.includedNamespaces,
      ttl: s.ttl,
      storageLocation: s.storageLocation,
      snapshotVolumes: false,
      defaultVolumesToFsBackup: s.fileSystemBackup,
    },
  };
}

/** Every pod of Velero's namespace: DNS, and HTTPS to the bucket, the cloud's token endpoint and the Kubernetes API. */
export function veleroFlows(namespace: string): Flow[] {
  const all: Peer = { kind: "pods", name: "all-pods", namespace, selector: {} };
  const dns: Peer = { kind: "pods", name: "kube-dns", namespace: "kube-system", selector: { "k8s-app": "kube-dns" } };
  const dnsPorts: Port[] = [
    { port: PORTS.dns, protocol: "UDP" },
    { port: PORTS.dns, protocol: "TCP" },
  ];
  return [
    { from: all, to: dns, ports: dnsPorts, why: "name resolution" },
    { from: all, to: { kind: "anywhere", name: "anywhere" }, ports: [{ port: PORTS.https }], why: "the backup bucket, the cloud's token endpoint, the Kubernetes API" },
  ];
}

const resources = (r: ResourceSpec) => ({ requests: { cpu: r.cpuRequest, memory: r.memoryRequest }, limits: { cpu: r.cpuLimit, memory: r.memoryLimit } });

/** The chart's values: only what differs from its defaults, each for a stated reason. */
export function veleroValues(args: VeleroArgs): Record<string, unknown> {
  const store = args.store;
  const plugin = VELERO_PLUGINS[store.provider];
  const tolerations = (args.tolerations ?? []).map((t) => ({ ...t }));
  const restricted = containerSecurityContext(VELERO_UID);
  const fs = usesFileSystemBackup(args);
  return {
    fullnameOverride: "velero",
    image: { repository: VELERO_IMAGE.repository, tag: VELERO_IMAGE.tag },
    // The chart's crds/ are installed by Helm; the upgrade and clean-up Jobs would pull a kubectl image.
    upgradeCRDs: false,
    cleanUpCRDs: false,
    // Workload identity: no credentials Secret, no static key anywhere.
    credentials: { useSecret: false },
    serviceAccount: { server: { create: true, name: store.identity.serviceAccountName, annotations: store.identity.serviceAccountAnnotations } },
    podLabels: store.identity.podLabels,
    initContainers: [
      {
        name: plugin.name,
        image: plugin.image,
        imagePullPolicy: "IfNotPresent",
        volumeMounts: [{ mountPath: "/target", name: "plugins" }],
        securityContext: restricted,
        resources: resources(DEFAULT_RESOURCES.plugin),
      },
    ],
    podSecurityContext: { runAsNonRoot: true, runAsUser: VELERO_UID, runAsGroup: VELERO_UID, fsGroup: VELERO_UID, seccompProfile: { type: "RuntimeDefault" } },
    containerSecurityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
    resources: resources(args.resources?.server ?? DEFAULT_RESOURCES.server),
    ...(tolerations.length ? { tolerations } : {}),
    configuration: {
      backupStorageLocation: [
        { name: STORAGE_LOCATION, provider: store.provider, bucket: store.bucket, prefix: store.prefix, default: true, accessMode: "ReadWrite", config: store.config },
      ],
      // No cloud snapshots: volumes go through file-system backup (or not at all).
      volumeSnapshotLocation: [],
      uploaderType: "kopia",
      // A new cluster's Schedule waits for its first cron time instead of backing up at once (see scheduleSpec).
      extraArgs: ["--schedule-skip-immediately=true"],
    },
    snapshotsEnabled: false,
    backupsEnabled: true,
    deployNodeAgent: fs,
    ...(fs
      ? {
          nodeAgent: {
            resources: resources(args.resources?.nodeAgent ?? DEFAULT_RESOURCES.nodeAgent),
            ...(tolerations.length ? { tolerations } : {}),
            // The chart's own security context: root (not privileged), which reads and restores every
            // pod's volume under /var/lib/kubelet/pods with the files' owners; that is why the namespace is privileged.
          },
        }
      : {}),
    // Scraped only when the monitoring stack is allowed to reach it: no ServiceMonitor yet.
    metrics: { enabled: true, serviceMonitor: { enabled: false }, prometheusRule: { enabled: false } },
    schedules: {},
  };
}
