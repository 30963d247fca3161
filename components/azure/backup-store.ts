import { UserAssignedIdentity } from "@pulumi/azure-native/managedidentity/userAssignedIdentity";
import { BlobContainer } from "@pulumi/azure-native/storage/blobContainer";
import { BlobServiceProperties } from "@pulumi/azure-native/storage/blobServiceProperties";
import { ManagementPolicy } from "@pulumi/azure-native/storage/managementPolicy";
import { StorageAccount } from "@pulumi/azure-native/storage/storageAccount";
import * as pulumi from "@pulumi/pulumi";
import type { Tags } from "../contracts";
import { BACKUP_OBJECTS_PREFIX, BACKUP_PREFIX, backupExpiryDays, type BackupLifecycle } from "../shared/backups";
import type { ArtifactStoreArgs } from "./artifact-store";
import { globalName } from "./naming";
import { grant } from "./roles";

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
  encryption?: { vaultUri: pulumi.Input<string>; keyName: pulumi.Input<string>; keyResourceId: pulumi.Input<string> };
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
    const parent = { parent: this };
    const cmk = args.encryption ? this.keyIdentity(name, args, args.encryption) : undefined;

    this.account = new StorageAccount(
      `${name}-account`,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        accountName: args.accountName,
        kind: "StorageV2",
        sku: { name: args.redundancy },
        accessTier: "Hot",
        allowBlobPublicAccess: false,
        allowSharedKeyAccess: false,
        defaultToOAuthAuthentication: true,
        allowCrossTenantReplication: false,
        allowedCopyScope: "AAD",
        minimumTlsVersion: "TLS1_2",
        enableHttpsTrafficOnly: true,
        publicNetworkAccess: "Enabled",
        networkRuleSet: {
          defaultAction: "Deny",
          bypass: "None",
          virtualNetworkRules: args.allowedSubnetIds.map((id) => ({ virtualNetworkResourceId: id, action: "Allow" as const })),
        },
        identity: cmk ? { type: "UserAssigned", userAssignedIdentities: [cmk.identity.id] } : undefined,
        encryption: {
          keySource: cmk ? "Microsoft.Keyvault" : "Microsoft.Storage",
          keyVaultProperties: args.encryption ? { keyVaultUri: args.encryption.vaultUri, keyName: args.encryption.keyName } : undefined,
          encryptionIdentity: cmk ? { encryptionUserAssignedIdentity: cmk.identity.id } : undefined,
          requireInfrastructureEncryption: true,
          services: { blob: { enabled: true, keyType: "Account" }, file: { enabled: true, keyType: "Account" } },
        },
        tags: args.tags,
      },
      { parent: this, dependsOn: cmk ? [cmk.role] : [] },
    );
    new BlobServiceProperties(
      `${name}-blob-service`,
      {
        resourceGroupName: args.resourceGroupName,
        accountName: this.account.name,
        blobServicesName: "default",
        isVersioningEnabled: true,
        deleteRetentionPolicy: { enabled: true, days: args.softDeleteDays },
        containerDeleteRetentionPolicy: { enabled: true, days: args.softDeleteDays },
      },
      parent,
    );
    this.container = new BlobContainer(
      `${name}-container`,
      { resourceGroupName: args.resourceGroupName, accountName: this.account.name, containerName: BACKUP_CONTAINER, publicAccess: "None" },
      parent,
    );
    new ManagementPolicy(
      `${name}-lifecycle`,
      { resourceGroupName: args.resourceGroupName, accountName: this.account.name, managementPolicyName: "default", policy: { rules: backupLifecycleRules(args) } },
      parent,
    );
    this.containerId = this.container.id;
    this.registerOutputs({ accountName: this.account.name, container: BACKUP_CONTAINER });
  }

  /** The identity the account wraps its data key with (created first: the account is encrypted from its creation). */
  private keyIdentity(name: string, args: BackupStoreArgs, key: NonNullable<BackupStoreArgs["encryption"]>) {
    const identity = new UserAssignedIdentity(`${name}-cmk-identity`, { resourceGroupName: args.resourceGroupName, location: args.location, tags: args.tags }, { parent: this });
    const role = grant(
      `${name}-cmk-key-user`,
      { subscriptionId: args.subscriptionId, principalId: identity.principalId, principalType: "ServicePrincipal", role: "keyVaultCryptoServiceEncryptionUser", scope: key.keyResourceId },
      { parent: this },
    );
    return { identity, role };
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
