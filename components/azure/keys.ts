import { Key } from "@pulumi/azure-native/keyvault/key";
import { Vault } from "@pulumi/azure-native/keyvault/vault";
import * as pulumi from "@pulumi/pulumi";
import type { Tags } from "../contracts";

export interface KeyVaultArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  tenantId: pulumi.Input<string>;
  /** Globally unique, 3-24 characters (naming.ts keyVaultName). */
  vaultName: string;
  /** The keys to create, by name: one per consumer, so revoking one never stops another. */
  keyNames: string[];
  /** A new key version this many days after the current one was created. */
  rotateAfterDays: number;
  /** Each version expires this many days after its creation (must exceed rotateAfterDays). */
  expireAfterDays: number;
  /** Soft-delete retention of the vault and its keys (7-90 days); purge protection is always on. */
  softDeleteRetentionDays: number;
  tags: Tags;
}

/**
 * A Key Vault (Azure RBAC, soft delete with purge protection: a customer-managed key can never be
 * purged while data depends on it) holding RSA keys that rotate by themselves.
 *
 * The vault's network ACL stays open: the AKS KMS plugin with `keyVaultNetworkAccess: Public` calls
 * it from the control plane, which no VNet rule admits. Every data-plane call still needs an Entra ID
 * token and a role on the key (granted per consumer, on the key only).
 */
export class KeyVault extends pulumi.ComponentResource {
  readonly vault: Vault;
  readonly vaultId: pulumi.Output<string>;
  readonly vaultUri: pulumi.Output<string>;
  readonly keys: Record<string, Key>;

  constructor(name: string, args: KeyVaultArgs, opts?: pulumi.ComponentResourceOptions) {
    if (args.expireAfterDays <= args.rotateAfterDays) throw new Error(`key expiry (${args.expireAfterDays} days) must come after rotation (${args.rotateAfterDays} days)`);
    super("mlops:azure:KeyVault", name, {}, opts);
    const parent = { parent: this };

    this.vault = new Vault(
      `${name}-vault`,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        vaultName: args.vaultName,
        properties: {
          tenantId: args.tenantId,
          sku: { family: "A", name: "standard" },
          enableRbacAuthorization: true,
          enableSoftDelete: true,
          softDeleteRetentionInDays: args.softDeleteRetentionDays,
          enablePurgeProtection: true,
          enabledForDeployment: false,
          enabledForDiskEncryption: false,
          enabledForTemplateDeployment: false,
          publicNetworkAccess: "Enabled",
          networkAcls: { bypass: "AzureServices", defaultAction: "Allow" },
        },
        tags: args.tags,
      },
      { parent: this, protect: true },
    );
    this.vaultId = this.vault.id;
    this.vaultUri = this.vault.properties.apply((p) => p.vaultUri ?? "");

    this.keys = Object.fromEntries(
      args.keyNames.map((keyName) => [
        keyName,
        new Key(
          `${name}-${keyName}`,
          {
            resourceGroupName: args.resourceGroupName,
            vaultName: this.vault.name,
            keyName,
            properties: {
              kty: "RSA",
              // 2048 bits: the size every consumer here accepts (AKS KMS, Storage, PostgreSQL).
              keySize: 2048,
              keyOps: ["wrapKey", "unwrapKey", "encrypt", "decrypt"],
              rotationPolicy: {
                attributes: { expiryTime: `P${args.expireAfterDays}D` },
                lifetimeActions: [
                  { action: { type: "rotate" }, trigger: { timeAfterCreate: `P${args.rotateAfterDays}D` } },
                  { action: { type: "notify" }, trigger: { timeBeforeExpiry: "P30D" } },
                ],
              },
            },
            tags: args.tags,
          },
          // Deleting a key makes everything encrypted with it unreadable.
          { ...parent, protect: true },
        ),
      ]),
    );
    this.registerOutputs({ vaultId: this.vaultId, vaultUri: this.vaultUri });
  }
}
