import { UserAssignedIdentity } from "@pulumi/azure-native/managedidentity/userAssignedIdentity";
import { BlobContainer } from "@pulumi/azure-native/storage/blobContainer";
import { BlobServiceProperties } from "@pulumi/azure-native/storage/blobServiceProperties";
import { ManagementPolicy } from "@pulumi/azure-native/storage/managementPolicy";
import { StorageAccount } from "@pulumi/azure-native/storage/storageAccount";
import type * as inputs from "@pulumi/azure-native/types/input";
import type * as pulumi from "@pulumi/pulumi";
import type { Tags } from "../contracts";
import { grant } from "./roles";

/** A customer-managed key in Key Vault. */
export interface CustomerManagedKey {
  vaultUri: pulumi.Input<string>;
  keyName: pulumi.Input<string>;
  keyResourceId: pulumi.Input<string>;
}

export interface PrivateStorageAccountArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  subscriptionId: pulumi.Input<string>;
  /** Globally unique, 3-24 lowercase letters and digits (naming.ts). */
  accountName: string;
  redundancy: "Standard_LRS" | "Standard_ZRS" | "Standard_GRS" | "Standard_GZRS" | "Standard_RAGZRS";
  /** "Enabled": reachable only from `allowedSubnetIds` (network rules deny the rest); "Disabled": private endpoints only. */
  publicNetworkAccess: "Enabled" | "Disabled";
  /** Subnets admitted by the account's network rules (they need the Microsoft.Storage service endpoint). */
  allowedSubnetIds: pulumi.Input<string>[];
  /** Days a deleted blob and a deleted container can be restored. */
  softDeleteDays: number;
  /** A customer-managed key (Key Vault); unset: Microsoft-managed keys. */
  encryption?: CustomerManagedKey;
  /** The private blob container created in the account. */
  containerName: string;
  /** The rules of the account's lifecycle management policy. */
  lifecycleRules: pulumi.Input<inputs.storage.ManagementPolicyRuleArgs>[];
  tags: Tags;
}

/**
 * A storage account as the stores use them: Entra ID access only (no shared keys), TLS 1.2, no
 * public blob access, network rules admitting only `allowedSubnetIds`, a customer-managed key when
 * given, versioning and soft delete, one private container and a lifecycle policy. The resources
 * are named `${name}-…` and parented to `parent` (the calling component).
 */
export function privateStorageAccount(name: string, args: PrivateStorageAccountArgs, parent: pulumi.Resource): { account: StorageAccount; container: BlobContainer } {
  const opts = { parent };
  const cmk = args.encryption ? keyIdentity(name, args, args.encryption, parent) : undefined;

  const account = new StorageAccount(
    `${name}-account`,
    {
      resourceGroupName: args.resourceGroupName,
      location: args.location,
      accountName: args.accountName,
      kind: "StorageV2",
      sku: { name: args.redundancy },
      accessTier: "Hot",
      allowBlobPublicAccess: false,
      // Entra ID only: no account keys, no SAS signed with them; workloads use workload identity.
      allowSharedKeyAccess: false,
      defaultToOAuthAuthentication: true,
      allowCrossTenantReplication: false,
      allowedCopyScope: "AAD",
      minimumTlsVersion: "TLS1_2",
      enableHttpsTrafficOnly: true,
      publicNetworkAccess: args.publicNetworkAccess,
      networkRuleSet: {
        defaultAction: "Deny",
        bypass: "None",
        virtualNetworkRules: args.allowedSubnetIds.map((id) => ({ virtualNetworkResourceId: id, action: "Allow" as const })),
      },
      identity: cmk ? { type: "UserAssigned", userAssignedIdentities: [cmk.identity.id] } : undefined,
      encryption: {
        keySource: cmk ? "Microsoft.Keyvault" : "Microsoft.Storage",
        // A versionless key: the account follows the key's automatic rotation.
        keyVaultProperties: args.encryption ? { keyVaultUri: args.encryption.vaultUri, keyName: args.encryption.keyName } : undefined,
        encryptionIdentity: cmk ? { encryptionUserAssignedIdentity: cmk.identity.id } : undefined,
        requireInfrastructureEncryption: true,
        services: { blob: { enabled: true, keyType: "Account" }, file: { enabled: true, keyType: "Account" } },
      },
      tags: args.tags,
    },
    { parent, dependsOn: cmk ? [cmk.role] : [] },
  );

  new BlobServiceProperties(
    `${name}-blob-service`,
    {
      resourceGroupName: args.resourceGroupName,
      accountName: account.name,
      blobServicesName: "default",
      isVersioningEnabled: true,
      deleteRetentionPolicy: { enabled: true, days: args.softDeleteDays },
      containerDeleteRetentionPolicy: { enabled: true, days: args.softDeleteDays },
    },
    opts,
  );
  const container = new BlobContainer(
    `${name}-container`,
    { resourceGroupName: args.resourceGroupName, accountName: account.name, containerName: args.containerName, publicAccess: "None" },
    opts,
  );
  new ManagementPolicy(
    `${name}-lifecycle`,
    { resourceGroupName: args.resourceGroupName, accountName: account.name, managementPolicyName: "default", policy: { rules: args.lifecycleRules } },
    opts,
  );
  return { account, container };
}

/** The identity the account uses to wrap its data key with the customer-managed key (created first: the account is encrypted from its creation). */
function keyIdentity(name: string, args: PrivateStorageAccountArgs, key: CustomerManagedKey, parent: pulumi.Resource) {
  const identity = new UserAssignedIdentity(`${name}-cmk-identity`, { resourceGroupName: args.resourceGroupName, location: args.location, tags: args.tags }, { parent });
  const role = grant(
    `${name}-cmk-key-user`,
    { subscriptionId: args.subscriptionId, principalId: identity.principalId, principalType: "ServicePrincipal", role: "keyVaultCryptoServiceEncryptionUser", scope: key.keyResourceId },
    { parent },
  );
  return { identity, role };
}
