import type * as pulumi from "@pulumi/pulumi";
import type { Foundation } from "../components/contracts";
import type { BackupLifecycle } from "../components/shared/backups";
import { NAMESPACES } from "../components/kubernetes/constants";
import { LogShipper, logShipperNeeded } from "../components/kubernetes/log-shipping";
import { Velero, type VeleroScheduleArgs } from "../components/kubernetes/velero";
import type { EnvironmentProfile } from "./profiles";

export interface OperationsResult {
  velero?: Velero;
  logShipper?: LogShipper;
  outputs: Record<string, pulumi.Input<unknown>>;
}

/**
 * The day-2 add-ons on the Foundation's cluster (issue 14): Velero with the profile's Schedule of the
 * platform's namespaces, where the foundation has a backup store (every cloud; not local), and the log
 * shipper where the cloud has no agent of its own (EKS). Outputs: the Schedules a restore names
 * (`backupSchedules`) and, with file-system backup, the repository password it needs (a secret).
 */
export function deployOperations(name: string, foundation: Foundation, profile: EnvironmentProfile, stack: string): OperationsResult {
  const opts = { providers: { kubernetes: foundation.kubernetes } };
  const outputs: Record<string, pulumi.Input<unknown>> = {};
  let velero: Velero | undefined;
  if (foundation.backups) {
    velero = new Velero(
      `${name}-velero`,
      {
        store: foundation.backups,
        kubernetesVersion: foundation.kubernetesVersion,
        stack,
        schedules: platformSchedules(profile),
        tolerations: foundation.scheduling?.tolerations,
      },
      opts,
    );
    outputs.backupSchedules = velero.summaries;
    if (velero.repositoryPassword) outputs.backupRepositoryPassword = velero.repositoryPassword;
  }
  const logShipper = logShipperNeeded(foundation.logs) ? new LogShipper(`${name}-log-shipper`, { logs: foundation.logs, kubernetesVersion: foundation.kubernetesVersion }, opts) : undefined;
  return { velero, logShipper, outputs };
}

/** The backup bucket's lifecycle on every cloud, from the profile (the bucket's force-destroy and upload clean-up follow the artifact store's). */
export function backupLifecycle(profile: EnvironmentProfile): BackupLifecycle {
  return {
    retentionDays: profile.backups.retentionDays,
    noncurrentVersionExpirationDays: profile.backups.noncurrentVersionExpirationDays,
    coldStorageAfterDays: profile.backups.coldStorageAfterDays,
    abortIncompleteUploadDays: profile.artifactStore.abortIncompleteUploadDays,
    forceDestroy: profile.artifactStore.forceDestroy,
  };
}

/**
 * One Schedule per platform namespace, both at the profile's cadence and ttl: `platform` (the
 * workloads' objects; their state is in the database and the artifact bucket, their volumes are
 * scratch space) and `monitoring` (with the profile's file-system backup: Prometheus' TSDB,
 * Alertmanager's silences and notification log).
 */
export function platformSchedules(profile: EnvironmentProfile): VeleroScheduleArgs[] {
  const common = { cron: profile.backups.schedule, retentionDays: profile.backups.retentionDays };
  return [
    { ...common, name: "platform", namespaces: [NAMESPACES.platform], fileSystemBackup: false },
    { ...common, name: "monitoring", namespaces: [NAMESPACES.monitoring], fileSystemBackup: profile.backups.fileSystemBackup },
  ];
}
