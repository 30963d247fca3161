import type { BlobContainer } from "@pulumi/azure-native/storage/blobContainer";
import type { StorageAccount } from "@pulumi/azure-native/storage/storageAccount";
import * as pulumi from "@pulumi/pulumi";
import type { Tags } from "../contracts";
import { type CustomerManagedKey, privateStorageAccount } from "./private-storage-account";

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
  encryption?: CustomerManagedKey;
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
    const { account, container } = privateStorageAccount(name, { ...args, containerName: ARTIFACT_CONTAINER, lifecycleRules: lifecycleRules(args) }, this);
    this.account = account;
    this.container = container;

    this.containerId = this.container.id;
    this.uri = pulumi.interpolate`wasbs://${ARTIFACT_CONTAINER}@${this.account.name}.blob.core.windows.net/${args.prefix}`;
    this.registerOutputs({ accountName: this.account.name, uri: this.uri });
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
