import { RoleAssignment } from "@pulumi/azure-native/authorization/roleAssignment";
import * as pulumi from "@pulumi/pulumi";

/** Built-in role definition ids (the same in every subscription and cloud). */
export const ROLES = {
  networkContributor: "4d97b98b-1d4f-4787-a291-c67834d212e7",
  storageBlobDataContributor: "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
  acrPull: "7f951dca-4389-4ad9-9aa0-56929a2a1e1a",
  /** Wrap/unwrap with a key: what a storage account or PostgreSQL server needs for customer-managed keys. */
  keyVaultCryptoServiceEncryptionUser: "e147488a-f6f5-4113-8e2d-b22465e65bf6",
  /** Encrypt/decrypt with a key: what the AKS KMS plugin (the cluster identity) needs. */
  keyVaultCryptoUser: "12338af0-0e69-4776-bea7-57ae8d297424",
  /** Full access to every Kubernetes object of an AKS cluster with Azure RBAC. */
  aksRbacClusterAdmin: "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b",
  /** Records of one DNS zone: what cert-manager needs for ACME DNS-01 challenges (scoped to the zone). */
  dnsZoneContributor: "befefa01-2a29-4197-83a8-272ff33ce314",
} as const;

export type RoleName = keyof typeof ROLES;

export function roleDefinitionId(subscriptionId: pulumi.Input<string>, role: RoleName): pulumi.Output<string> {
  return pulumi.interpolate`/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${ROLES[role]}`;
}

export interface GrantArgs {
  subscriptionId: pulumi.Input<string>;
  principalId: pulumi.Input<string>;
  /** ServicePrincipal for managed identities: set, Azure does not wait for the principal to replicate. Unset when unknown (the deployer may be a user). */
  principalType?: "ServicePrincipal" | "User" | "Group";
  role: RoleName;
  scope: pulumi.Input<string>;
}

/** One built-in role for one principal on one scope (the narrowest that works: a key, a container, a subnet). */
export function grant(name: string, args: GrantArgs, opts: pulumi.CustomResourceOptions): RoleAssignment {
  return new RoleAssignment(
    name,
    {
      principalId: args.principalId,
      principalType: args.principalType,
      roleDefinitionId: roleDefinitionId(args.subscriptionId, args.role),
      scope: args.scope,
    },
    opts,
  );
}
