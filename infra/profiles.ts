import type { PlatformConfig } from "./config";

/**
 * Every dev-versus-prod decision of the platform, made once, here (PRODUCT.md "Environments").
 * Components receive these values explicitly and never look at the environment name themselves.
 */
export interface EnvironmentProfile {
  network: {
    /** One NAT gateway for the VPC (dev) or one per availability zone (prod). */
    natGateways: "single" | "perAz";
    flowLogs: boolean;
  };
  cluster: {
    capacityType: "SPOT" | "ON_DEMAND";
    instanceTypes: string[];
    nodeCount: { min: number; max: number; desired: number };
    /** Root volume of every node (encrypted gp3): images and emptyDirs live there. */
    nodeDiskGb: number;
  };
  database: {
    instanceClass: string;
    allocatedStorageGb: number;
    maxAllocatedStorageGb: number;
    multiAz: boolean;
    backupRetentionDays: number;
    deletionProtection: boolean;
    skipFinalSnapshot: boolean;
    performanceInsights: boolean;
  };
  artifactStore: {
    forceDestroy: boolean;
    noncurrentVersionExpirationDays: number;
    /** Days after which current objects move to cold storage; undefined keeps them hot. */
    coldStorageAfterDays?: number;
    abortIncompleteUploadDays: number;
  };
  logRetentionDays: number;
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
    /** Requests and limits per workload; a model's `resources` in config overrides `serving`. */
    resources: Record<"mlflow" | "serving" | "drift" | "monitor" | "jobs" | "prometheus" | "grafana", WorkloadResources>;
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
    driftShareWarning: number;
    driftShareCritical: number;
    /** The monitor's window ModelQualityLow watches, and the labelled predictions it needs first. */
    qualityWindow: "1h" | "24h" | "7d";
    qualityMinLabels: number;
  };
}

export interface WorkloadResources {
  cpuRequest: string;
  memoryRequest: string;
  cpuLimit: string;
  memoryLimit: string;
}

const res = (cpuRequest: string, memoryRequest: string, cpuLimit: string, memoryLimit: string): WorkloadResources => ({ cpuRequest, memoryRequest, cpuLimit, memoryLimit });

export const PROFILES: Record<PlatformConfig["environment"], EnvironmentProfile> = {
  dev: {
    network: { natGateways: "single", flowLogs: false },
    cluster: { capacityType: "SPOT", instanceTypes: ["t3.large", "t3a.large"], nodeCount: { min: 1, max: 3, desired: 2 }, nodeDiskGb: 50 },
    database: {
      instanceClass: "db.t4g.medium",
      allocatedStorageGb: 20,
      maxAllocatedStorageGb: 50,
      multiAz: false,
      backupRetentionDays: 1,
      deletionProtection: false,
      skipFinalSnapshot: true,
      performanceInsights: false,
    },
    artifactStore: { forceDestroy: true, noncurrentVersionExpirationDays: 7, abortIncompleteUploadDays: 1 },
    logRetentionDays: 7,
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
        jobs: res("50m", "128Mi", "500m", "512Mi"),
        prometheus: res("250m", "1Gi", "1", "2Gi"),
        grafana: res("50m", "128Mi", "250m", "256Mi"),
      },
      servingReplicas: { min: 1, max: 3 },
      podDisruptionBudgets: false,
      pdbMinAvailable: 1,
      hpaCpuUtilization: 70,
      prometheusRetention: "7d",
      prometheusReplicas: 1,
      alertmanagerReplicas: 1,
      preferDigests: false,
    },
    alerts: { errorRatio: 0.02, latencyP95Seconds: 0.1, driftShareWarning: 0.3, driftShareCritical: 0.7, qualityWindow: "1h", qualityMinLabels: 100 },
  },
  prod: {
    network: { natGateways: "perAz", flowLogs: true },
    cluster: { capacityType: "ON_DEMAND", instanceTypes: ["m6i.xlarge"], nodeCount: { min: 3, max: 12, desired: 3 }, nodeDiskGb: 100 },
    database: {
      instanceClass: "db.m6g.large",
      allocatedStorageGb: 100,
      maxAllocatedStorageGb: 500,
      multiAz: true,
      backupRetentionDays: 14,
      deletionProtection: true,
      skipFinalSnapshot: false,
      performanceInsights: true,
    },
    artifactStore: { forceDestroy: false, noncurrentVersionExpirationDays: 90, coldStorageAfterDays: 90, abortIncompleteUploadDays: 7 },
    logRetentionDays: 90,
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
        jobs: res("100m", "128Mi", "500m", "512Mi"),
        prometheus: res("1", "4Gi", "2", "8Gi"),
        grafana: res("100m", "256Mi", "500m", "512Mi"),
      },
      servingReplicas: { min: 3, max: 20 },
      podDisruptionBudgets: true,
      pdbMinAvailable: 2,
      hpaCpuUtilization: 70,
      prometheusRetention: "30d",
      prometheusReplicas: 2,
      alertmanagerReplicas: 2,
      preferDigests: true,
    },
    alerts: { errorRatio: 0.02, latencyP95Seconds: 0.1, driftShareWarning: 0.3, driftShareCritical: 0.7, qualityWindow: "1h", qualityMinLabels: 100 },
  },
};

/** The environment's profile with the stack's explicit overrides applied. */
export function resolveProfile(config: PlatformConfig): EnvironmentProfile {
  const base = PROFILES[config.environment];
  return {
    ...base,
    cluster: {
      ...base.cluster,
      instanceTypes: config.cluster.nodeInstanceTypes ?? base.cluster.instanceTypes,
      nodeCount: config.cluster.nodeCount ?? base.cluster.nodeCount,
    },
    database: {
      ...base.database,
      instanceClass: config.database.instanceClass ?? base.database.instanceClass,
      allocatedStorageGb: config.database.allocatedStorageGb ?? base.database.allocatedStorageGb,
      maxAllocatedStorageGb: Math.max(base.database.maxAllocatedStorageGb, (config.database.allocatedStorageGb ?? 0) * 2),
      backupRetentionDays: config.database.backupRetentionDays ?? base.database.backupRetentionDays,
    },
    workloads: {
      ...base.workloads,
      prometheusRetention: config.monitoring.prometheusRetention ?? base.workloads.prometheusRetention,
    },
    alerts: {
      qualityWindow: config.monitoring.qualityWindow ?? base.alerts.qualityWindow,
      qualityMinLabels: config.monitoring.qualityMinLabels ?? base.alerts.qualityMinLabels,
      errorRatio: config.monitoring.errorRatio ?? base.alerts.errorRatio,
      latencyP95Seconds: config.monitoring.latencyP95Seconds ?? base.alerts.latencyP95Seconds,
      driftShareWarning: config.monitoring.driftShareWarning ?? base.alerts.driftShareWarning,
      driftShareCritical: config.monitoring.driftShareCritical ?? base.alerts.driftShareCritical,
    },
  };
}
