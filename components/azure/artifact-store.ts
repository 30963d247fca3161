import { UserAssignedIdentity } from "@pulumi/azure-native/managedidentity/userAssignedIdentity";
import { BlobContainer } from "@pulumi/azure-native/storage/blobContainer";
import { BlobServiceProperties } from "@pulumi/azure-native/storage/blobServiceProperties";
import { ManagementPolicy } from "@pulumi/azure-native/storage/managementPolicy";
import { StorageAccount } from "@pulumi/azure-native/storage/storageAccount";
import * as pulumi from "@pulumi/pulumi";
import type { Tags } from "../contracts";
import { grant } from "./roles";

export const ARTIFACT_CONTAINER = "mlflow";

export interface ArtifactStoreArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  subscriptionId: pulumi.Input<string>;
  /** Globally unique, 3-24 lowercase letters and digits (naming.ts storageAccountName). */
  accountName: string;
  /** Path under the container that MLflow writes to. */
  prefix: string;
  /** Standard_LRS (dev), Standard_ZRS or Standard_GZRS (prod). */
  redundancy: "Standard_LRS" | "Standard_ZRS" | "Standard_GRS" | "Standard_GZRS" | "Standard_RAGZRS";
  /** "Enabled": reachable only from `allowedSubnetIds` (network rules deny the rest); "Disabled": private endpoints only. */
  publicNetworkAccess: "Enabled" | "Disabled";
  /** Subnets admitted by the account's network rules (they need the Microsoft.Storage service endpoint). */
  allowedSubnetIds: pulumi.Input<string>[];
  /** Days a deleted blob and a deleted container can be restored. */
  softDeleteDays: number;
  /** Previous versions are deleted this many days after they stop being current. */
  noncurrentVersionExpirationDays: number;
  /** Move current blobs to the Cool tier this many days after their last change; unset: stay Hot. */
  coolAfterDays?: number;
  /** A customer-managed key (Key Vault); unset: Microsoft-managed keys. */
  encryption?: { vaultUri: pulumi.Input<string>; keyName: pulumi.Input<string>; keyResourceId: pulumi.Input<string> };
  tags: Tags;
}

/** The storage account behind MLflow's artifact proxy: Entra ID access only, TLS 1.2, versioned, soft-deleted, network-restricted. */
export class ArtifactStore extends pulumi.ComponentResource {
  readonly account: StorageAccount;
  readonly container: BlobContainer;
  readonly uri: pulumi.Output<string>;
  /** The container's resource id: the scope of MLflow's data role. */
  readonly containerId: pulumi.Output<string>;

  constructor(name: string, args: ArtifactStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:azure:ArtifactStore", name, {}, opts);
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
        // Entra ID only: no account keys, no SAS signed with them; MLflow uses workload identity.
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
      { resourceGroupName: args.resourceGroupName, accountName: this.account.name, containerName: ARTIFACT_CONTAINER, publicAccess: "None" },
      parent,
    );
    new ManagementPolicy(
      `${name}-lifecycle`,
      { resourceGroupName: args.resourceGroupName, accountName: this.account.name, managementPolicyName: "default", policy: { rules: lifecycleRules(args) } },
      parent,
    );

    this.containerId = this.container.id;
    this.uri = pulumi.interpolate`wasbs://${ARTIFACT_CONTAINER}@${this.account.name}.blob.core.windows.net/${args.prefix}`;
    this.registerOutputs({ accountName: this.account.name, uri: this.uri });
  }

  /** The identity the account uses to wrap its data key with the customer-managed key (created first: the account is encrypted from its creation). */
  private keyIdentity(name: string, args: ArtifactStoreArgs, key: NonNullable<ArtifactStoreArgs["encryption"]>) {
    const identity = new UserAssignedIdentity(`${name}-cmk-identity`, { resourceGroupName: args.resourceGroupName, location: args.location, tags: args.tags }, { parent: this });
    const role = grant(
      `${name}-cmk-key-user`,
      { subscriptionId: args.subscriptionId, principalId: identity.principalId, principalType: "ServicePrincipal", role: "keyVaultCryptoServiceEncryptionUser", scope: key.keyResourceId },
      { parent: this },
    );
    return { identity, role };
  }
}

/** One rule of a ManagementPolicy (the SDK's ManagementPolicyRuleArgs, narrowed to what is used here). */
export interface LifecycleRule {
  name: string;
  enabled: boolean;
  type: "Lifecycle";
  definition: {
    filters: { blobTypes: string[]; prefixMatch: string[] };
    actions: { version?: { delete: { daysAfterCreationGreaterThan: number } }; baseBlob?: { tierToCool: { daysAfterModificationGreaterThan: number } } };
  };
}

/** Lifecycle rules on MLflow's container: old versions deleted after N days; optionally current blobs to Cool after M days. */
export function lifecycleRules(args: Pick<ArtifactStoreArgs, "noncurrentVersionExpirationDays" | "coolAfterDays">): LifecycleRule[] {
  const filters = { blobTypes: ["blockBlob"], prefixMatch: [`${ARTIFACT_CONTAINER}/`] };
  const rules: LifecycleRule[] = [
    {
      name: "expire-noncurrent-versions",
      enabled: true,
      type: "Lifecycle",
      definition: { filters, actions: { version: { delete: { daysAfterCreationGreaterThan: args.noncurrentVersionExpirationDays } } } },
    },
  ];
  if (args.coolAfterDays !== undefined) {
    rules.push({
      name: "tier-to-cool",
      enabled: true,
      type: "Lifecycle",
      definition: { filters, actions: { baseBlob: { tierToCool: { daysAfterModificationGreaterThan: args.coolAfterDays } } } },
    });
  }
  return rules;
}
