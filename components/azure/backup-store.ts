import type { BlobContainer } from "@pulumi/azure-native/storage/blobContainer";
import type { StorageAccount } from "@pulumi/azure-native/storage/storageAccount";
import * as pulumi from "@pulumi/pulumi";
import type { Tags } from "../contracts";
import { BACKUP_OBJECTS_PREFIX, BACKUP_PREFIX, backupExpiryDays, type BackupLifecycle } from "../shared/backups";
import type { ArtifactStoreArgs } from "./artifact-store";
import { globalName } from "./naming";
import { type CustomerManagedKey, privateStorageAccount } from "./private-storage-account";

/** The blob container Velero writes to (objects under BACKUP_PREFIX in it). */
export const BACKUP_CONTAINER = "backups";

/** Storage account of the backups: 3-24 lowercase letters and digits, globally unique, stable (naming.ts). */
export const backupAccountName = (prefix: string, seed: string) => globalName(`${prefix}bak`, seed, 24);

export interface BackupStoreArgs extends Omit<BackupLifecycle, "forceDestroy" | "abortIncompleteUploadDays"> {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  subscriptionId: pulumi.Input<string>;
  accountName: string;
  redundancy: ArtifactStoreArgs["redundancy"];
  /** Subnets admitted by the account's network rules (the AKS subnet, with the Microsoft.Storage service endpoint). */
  allowedSubnetIds: pulumi.Input<string>[];
  /** Days a deleted blob or container can be restored. */
  softDeleteDays: number;
  /** A customer-managed key (Key Vault, prod); unset: Microsoft-managed keys. */
  encryption?: CustomerManagedKey;
  tags: Tags;
}

/**
 * The storage account Velero writes the cluster's backups to, apart from the artifact store: Entra ID
 * access only (no shared keys), TLS 1.2, no public access, reachable from the AKS subnet only,
 * versioned with soft delete, a customer-managed key in prod, and a lifecycle policy (backup blobs
 * deleted after the retention plus a grace, old versions deleted, Cool tier in prod).
 */
export class BackupStore extends pulumi.ComponentResource {
  readonly account: StorageAccount;
  readonly container: BlobContainer;
  readonly containerId: pulumi.Output<string>;
  readonly prefix = BACKUP_PREFIX;

  constructor(name: string, args: BackupStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:azure:BackupStore", name, {}, opts);
    const { account, container } = privateStorageAccount(name, { ...args, publicNetworkAccess: "Enabled", containerName: BACKUP_CONTAINER, lifecycleRules: backupLifecycleRules(args) }, this);
    this.account = account;
    this.container = container;
    this.containerId = this.container.id;
    this.registerOutputs({ accountName: this.account.name, container: BACKUP_CONTAINER });
  }
}

/** One rule of the backup account's ManagementPolicy. */
export interface BackupLifecycleRule {
  name: string;
  enabled: boolean;
  type: "Lifecycle";
  definition: {
    filters: { blobTypes: string[]; prefixMatch: string[] };
    actions: {
      version?: { delete: { daysAfterCreationGreaterThan: number } };
      baseBlob?: { delete?: { daysAfterModificationGreaterThan: number }; tierToCool?: { daysAfterModificationGreaterThan: number } };
    };
  };
}

/** The backup container's lifecycle (a pure function, tested on its own). Uncommitted blocks are discarded by Azure after 7 days. */
export function backupLifecycleRules(args: Pick<BackupLifecycle, "retentionDays" | "noncurrentVersionExpirationDays" | "coldStorageAfterDays">): BackupLifecycleRule[] {
  const all = { blobTypes: ["blockBlob"], prefixMatch: [`${BACKUP_CONTAINER}/`] };
  const rules: BackupLifecycleRule[] = [
    { name: "expire-noncurrent-versions", enabled: true, type: "Lifecycle", definition: { filters: all, actions: { version: { delete: { daysAfterCreationGreaterThan: args.noncurrentVersionExpirationDays } } } } },
    {
      // Behind Velero's own garbage collection (the Schedule's ttl): backup objects only, never the file-system backup repository.
      name: "expire-old-backups",
      enabled: true,
      type: "Lifecycle",
      definition: {
        filters: { blobTypes: ["blockBlob"], prefixMatch: [`${BACKUP_CONTAINER}/${BACKUP_OBJECTS_PREFIX}`] },
        actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: backupExpiryDays(args.retentionDays) } } },
      },
    },
  ];
  if (args.coldStorageAfterDays !== undefined) {
    rules.push({
      name: "tier-to-cool",
      enabled: true,
      type: "Lifecycle",
      definition: { filters: all, actions: { baseBlob: { tierToCool: { daysAfterModificationGreaterThan: args.coldStorageAfterDays } } } },
    });
  }
  return rules;
}
