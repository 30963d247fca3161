import { Registry as ContainerRegistry } from "@pulumi/azure-native/containerregistry/registry";
import * as pulumi from "@pulumi/pulumi";
import type { Tags } from "../contracts";
import { grant } from "./roles";

export interface RegistryArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  subscriptionId: pulumi.Input<string>;
  /** Globally unique, 5-50 letters and digits (naming.ts registryName): a plain string, so the login server is known at plan time. */
  registryName: string;
  /** Premium (prod: zone redundancy), Standard or Basic (dev). */
  sku: "Basic" | "Standard" | "Premium";
  /** Replicate across availability zones (Premium only). */
  zoneRedundant: boolean;
  /** Object id of the AKS kubelet identity: granted AcrPull on this registry only. */
  pullerObjectId: pulumi.Input<string>;
  tags: Tags;
}

/** Azure Container Registry for the platform's images: Entra ID access only (no admin user, no anonymous pull); AKS nodes pull. */
export class Registry extends pulumi.ComponentResource {
  readonly registry: ContainerRegistry;
  readonly loginServer: string;

  constructor(name: string, args: RegistryArgs, opts?: pulumi.ComponentResourceOptions) {
    if (args.zoneRedundant && args.sku !== "Premium") throw new Error(`zone-redundant registries need the Premium SKU, not ${args.sku}`);
    super("mlops:azure:Registry", name, {}, opts);
    this.loginServer = `${args.registryName.toLowerCase()}.azurecr.io`;
    this.registry = new ContainerRegistry(
      `${name}-acr`,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        registryName: args.registryName,
        sku: { name: args.sku },
        adminUserEnabled: false,
        anonymousPullEnabled: false,
        zoneRedundancy: args.zoneRedundant ? "Enabled" : "Disabled",
        tags: args.tags,
      },
      { parent: this },
    );
    grant(
      `${name}-kubelet-acr-pull`,
      { subscriptionId: args.subscriptionId, principalId: args.pullerObjectId, principalType: "ServicePrincipal", role: "acrPull", scope: this.registry.id },
      { parent: this },
    );
    this.registerOutputs({ loginServer: this.loginServer });
  }
}
