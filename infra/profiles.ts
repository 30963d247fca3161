import { DEFAULT_API_LATENCY_P95_SECONDS } from "../components/kubernetes/alert-rules";
import type { ResourceSpec } from "../components/kubernetes/pod";
import type { PlatformConfig } from "./config";

/**
 * Every dev-versus-prod decision that holds on any cloud, made once, here (PRODUCT.md "Environments"):
 * availability, protection, retention, spot capacity, the workloads and the alerts. What a decision
 * means in one cloud's resources (instance types, tiers, SKUs) is that cloud's profile, in
 * infra/clouds/<cloud>.ts. Components receive these values explicitly and never look at the
 * environment name themselves.
 */
export interface EnvironmentProfile {
  network: {
    /** One NAT for the network (dev) or one per availability zone (prod). */
    egressPerZone: boolean;
    flowLogs: boolean;
  };
  cluster: {
    /** Spot/preemptible capacity for the workload nodes (dev only). */
    spot: boolean;
    /** Control plane and nodes spread over zones (regional GKE, AKS zones, 3 AZs on EKS). */
    zoneRedundant: boolean;
    /** Secrets in etcd encrypted with a key the stack owns (EKS always does). */
    customerManagedSecretsKey: boolean;
    /**
     * How long a node may stay unneeded (empty or underutilized) before the node autoscaler removes it:
     * Karpenter's consolidateAfter, AKS's scale-down-unneeded time, GKE's autoscaling profile
     * (OPTIMIZE_UTILIZATION at 5 minutes or less, else BALANCED). Short in dev (cost), longer in prod (churn).
     */
    scaleDownAfterMinutes: number;
  };
  database: {
    /** A standby in another zone (RDS multi-AZ, Cloud SQL REGIONAL, zone-redundant Flexible Server). */
    highAvailability: boolean;
    backupRetentionDays: number;
    /** Deletion protection at the cloud, `protect` in Pulumi, a final snapshot where the cloud has one. */
    deletionProtection: boolean;
    /** Backups copied to another region where the cloud offers it. */
    geoRedundantBackups: boolean;
  };
  artifactStore: {
    forceDestroy: boolean;
    noncurrentVersionExpirationDays: number;
    /** Days after which current objects move to cold storage; undefined keeps them hot. */
    coldStorageAfterDays?: number;
    abortIncompleteUploadDays: number;
    /** Objects encrypted with a key the stack owns (S3 always is). */
    customerManagedKey: boolean;
  };
  /** Days container logs (and the clouds' other log groups) are kept: CloudWatch, Cloud Logging, Log Analytics (at least 30 there). */
  logRetentionDays: number;
  /** Velero's scheduled backups of the platform's namespaces (components/kubernetes/velero.ts) and their bucket. */
  backups: {
    /** Cron (UTC) of the Velero Schedules: how much cluster state a restore may lose (the RPO of cluster objects). */
    schedule: string;
    /** Days a backup is kept (the Schedule's ttl); the bucket expires backup objects a week after. */
    retentionDays: number;
    /** File-system backup (Velero's node agent, Kopia) of the monitoring namespace's volumes: Prometheus' TSDB, Alertmanager's state. */
    fileSystemBackup: boolean;
    /** Days a deleted or overwritten backup object stays recoverable (bucket versioning). */
    noncurrentVersionExpirationDays: number;
    /** Backup objects move to a colder class after this many days; undefined keeps them hot. */
    coldStorageAfterDays?: number;
  };
  workloads: {
    mlflowReplicas: number;
    /** MLflow server worker processes per pod. */
    mlflowWorkers: number;
    /** The quality monitor (stateless over its database): 2 in prod for availability. */
    monitorReplicas: number;
    /** Days of predictions and feedback the monitor keeps. */
    monitorRetentionDays: number;
    /** Seconds between serving's checks of a model alias (a moved alias is live within this). */
    servingReloadIntervalSeconds: number;
    /** Prometheus volume size per replica. */
    prometheusStorage: string;
    /** Requests and limits per workload; a model's `resources` in config overrides `serving` field by field. */
    resources: Record<"mlflow" | "serving" | "drift" | "monitor" | "api" | "jobs" | "prometheus" | "grafana", ResourceSpec>;
    /** The platform API's HPA bounds (PRODUCT.md "Serving and rollout": the same as serving's). */
    apiReplicas: { min: number; max: number };
    /** Challenger share (percent) a deploy through the API may ask for; unset: the API's own default (dev). */
    apiMaxChallengerWeight?: number;
    servingReplicas: { min: number; max: number };
    podDisruptionBudgets: boolean;
    /** PDB minAvailable where PDBs are declared. */
    pdbMinAvailable: number;
    hpaCpuUtilization: number;
    prometheusRetention: string;
    prometheusReplicas: number;
    alertmanagerReplicas: number;
    /** Whether images must be pulled by digest when one is given. */
    preferDigests: boolean;
  };
  alerts: {
    errorRatio: number;
    latencyP95Seconds: number;
    /** p95 of predictions through the platform API, seconds. */
    apiLatencyP95Seconds: number;
    driftShareWarning: number;
    driftShareCritical: number;
    /** The monitor's window ModelQualityLow watches, and the labelled predictions it needs first. */
    qualityWindow: "1h" | "24h" | "7d";
    qualityMinLabels: number;
  };
}

const res = (cpuRequest: string, memoryRequest: string, cpuLimit: string, memoryLimit: string): ResourceSpec => ({ cpuRequest, memoryRequest, cpuLimit, memoryLimit });

export const PROFILES: Record<PlatformConfig["environment"], EnvironmentProfile> = {
  dev: {
    network: { egressPerZone: false, flowLogs: false },
    cluster: { spot: true, zoneRedundant: false, customerManagedSecretsKey: false, scaleDownAfterMinutes: 5 },
    database: { highAvailability: false, backupRetentionDays: 1, deletionProtection: false, geoRedundantBackups: false },
    artifactStore: { forceDestroy: true, noncurrentVersionExpirationDays: 7, abortIncompleteUploadDays: 1, customerManagedKey: false },
    logRetentionDays: 7,
    backups: { schedule: "0 3 * * *", retentionDays: 7, fileSystemBackup: false, noncurrentVersionExpirationDays: 7 },
    workloads: {
      mlflowReplicas: 1,
      mlflowWorkers: 2,
      monitorReplicas: 1,
      monitorRetentionDays: 14,
      servingReloadIntervalSeconds: 30,
      prometheusStorage: "20Gi",
      resources: {
        mlflow: res("250m", "768Mi", "1", "1536Mi"),
        serving: res("250m", "512Mi", "1", "1Gi"),
        drift: res("100m", "256Mi", "500m", "512Mi"),
        monitor: res("100m", "256Mi", "500m", "512Mi"),
        // The deploy gate runs a candidate model in ONNX Runtime: room for it beside the process.
        api: res("100m", "384Mi", "1", "1Gi"),
        jobs: res("50m", "128Mi", "500m", "512Mi"),
        prometheus: res("250m", "1Gi", "1", "2Gi"),
        grafana: res("50m", "128Mi", "250m", "256Mi"),
      },
      servingReplicas: { min: 1, max: 3 },
      apiReplicas: { min: 1, max: 3 },
      podDisruptionBudgets: false,
      pdbMinAvailable: 1,
      hpaCpuUtilization: 70,
      prometheusRetention: "7d",
      prometheusReplicas: 1,
      alertmanagerReplicas: 1,
      preferDigests: false,
    },
    alerts: { errorRatio: 0.02, latencyP95Seconds: 0.1, apiLatencyP95Seconds: DEFAULT_API_LATENCY_P95_SECONDS, driftShareWarning: 0.3, driftShareCritical: 0.7, qualityWindow: "1h", qualityMinLabels: 100 },
  },
  prod: {
    network: { egressPerZone: true, flowLogs: true },
    cluster: { spot: false, zoneRedundant: true, customerManagedSecretsKey: true, scaleDownAfterMinutes: 10 },
    database: { highAvailability: true, backupRetentionDays: 14, deletionProtection: true, geoRedundantBackups: true },
    artifactStore: { forceDestroy: false, noncurrentVersionExpirationDays: 90, coldStorageAfterDays: 90, abortIncompleteUploadDays: 7, customerManagedKey: true },
    logRetentionDays: 90,
    backups: { schedule: "0 */6 * * *", retentionDays: 30, fileSystemBackup: true, noncurrentVersionExpirationDays: 30, coldStorageAfterDays: 30 },
    workloads: {
      mlflowReplicas: 2,
      mlflowWorkers: 4,
      monitorReplicas: 2,
      monitorRetentionDays: 90,
      servingReloadIntervalSeconds: 30,
      prometheusStorage: "100Gi",
      resources: {
        mlflow: res("500m", "1536Mi", "2", "3Gi"),
        serving: res("500m", "512Mi", "2", "1Gi"),
        drift: res("250m", "512Mi", "1", "1Gi"),
        monitor: res("250m", "512Mi", "1", "1Gi"),
        api: res("250m", "512Mi", "2", "2Gi"),
        jobs: res("100m", "128Mi", "500m", "512Mi"),
        prometheus: res("1", "4Gi", "2", "8Gi"),
        grafana: res("100m", "256Mi", "500m", "512Mi"),
      },
      servingReplicas: { min: 3, max: 20 },
      apiReplicas: { min: 3, max: 20 },
      // PRODUCT.md "Serving and rollout": at most 10% challenger traffic in prod.
      apiMaxChallengerWeight: 10,
      podDisruptionBudgets: true,
      pdbMinAvailable: 2,
      hpaCpuUtilization: 70,
      prometheusRetention: "30d",
      prometheusReplicas: 2,
      alertmanagerReplicas: 2,
      preferDigests: true,
    },
    alerts: { errorRatio: 0.02, latencyP95Seconds: 0.1, apiLatencyP95Seconds: DEFAULT_API_LATENCY_P95_SECONDS, driftShareWarning: 0.3, driftShareCritical: 0.7, qualityWindow: "1h", qualityMinLabels: 100 },
  },
};

/** The environment's profile with the stack's explicit overrides of neutral keys applied. */
export function resolveProfile(config: PlatformConfig): EnvironmentProfile {
  const base = PROFILES[config.environment];
  return {
    ...base,
    database: { ...base.database, backupRetentionDays: ("backupRetentionDays" in config.database ? config.database.backupRetentionDays : undefined) ?? base.database.backupRetentionDays },
    workloads: {
      ...base.workloads,
      prometheusRetention: config.monitoring.prometheusRetention ?? base.workloads.prometheusRetention,
    },
    alerts: {
      qualityWindow: config.monitoring.qualityWindow ?? base.alerts.qualityWindow,
      qualityMinLabels: config.monitoring.qualityMinLabels ?? base.alerts.qualityMinLabels,
      errorRatio: config.monitoring.errorRatio ?? base.alerts.errorRatio,
      latencyP95Seconds: config.monitoring.latencyP95Seconds ?? base.alerts.latencyP95Seconds,
      apiLatencyP95Seconds: config.monitoring.apiLatencyP95Seconds ?? base.alerts.apiLatencyP95Seconds,
      driftShareWarning: config.monitoring.driftShareWarning ?? base.alerts.driftShareWarning,
      driftShareCritical: config.monitoring.driftShareCritical ?? base.alerts.driftShareCritical,
    },
  };
}

/**
 * The platform API's SERVING_PROFILE: what a deploy request's scaling and resources are checked
 * against, the stack's serving profile (its limits: the most a deployment may ask for).
 */
export function servingProfile(profile: EnvironmentProfile): { minReplicas: number; maxReplicas: number; targetCpuUtilization: number; cpu: string; memory: string } {
  const w = profile.workloads;
  return { minReplicas: w.servingReplicas.min, maxReplicas: w.servingReplicas.max, targetCpuUtilization: w.hpaCpuUtilization, cpu: w.resources.serving.cpuLimit, memory: w.resources.serving.memoryLimit };
}

/**
 * The API's own cap when its MAX_CHALLENGER_WEIGHT is unset (`apiMaxChallengerWeight` left out), per
 * environment: services/api/src/env.ts challengerCap (test/components/kubernetes/workloads.test.ts holds
 * the two equal).
 */
export const API_DEFAULT_CHALLENGER_CAP: Record<PlatformConfig["environment"], number> = { dev: 50, prod: 10 };

/**
 * The environment's challenger cap (PRODUCT.md "Serving and rollout": prod 10%): the most a deploy
 * through the API may grant, and the most serving applies (its MAX_CHALLENGER_WEIGHT), whatever
 * the weight's source (the registry's `mlops.challenger_weight` tag or the stack's challenger.weight).
 */
export function challengerCap(environment: PlatformConfig["environment"], profile: EnvironmentProfile): number {
  return profile.workloads.apiMaxChallengerWeight ?? API_DEFAULT_CHALLENGER_CAP[environment];
}
