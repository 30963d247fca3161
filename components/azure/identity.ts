import { FederatedIdentityCredential } from "@pulumi/azure-native/managedidentity/federatedIdentityCredential";
import { UserAssignedIdentity } from "@pulumi/azure-native/managedidentity/userAssignedIdentity";
import * as pulumi from "@pulumi/pulumi";
import type { Tags } from "../contracts";
import { grant, type RoleName } from "./roles";

/** The audience AKS workload identity tokens carry (Entra ID's token exchange). */
export const WORKLOAD_IDENTITY_AUDIENCE = "api://AzureADTokenExchange";

export interface WorkloadIdentityArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  subscriptionId: pulumi.Input<string>;
  /** The cluster's OIDC issuer URL (managedCluster.oidcIssuerProfile.issuerURL). */
  oidcIssuerUrl: pulumi.Input<string>;
  namespace: string;
  serviceAccountName: string;
  /** What the identity may do: built-in roles on the narrowest scopes (a blob container, not the account). */
  roles: { role: RoleName; scope: pulumi.Input<string> }[];
  tags: Tags;
}

/**
 * A user-assigned managed identity that exactly one Kubernetes service account of one cluster can use
 * (a federated credential pinned to the issuer, the subject and the token-exchange audience), with
 * exactly the given roles.
 */
export class WorkloadIdentity extends pulumi.ComponentResource {
  readonly clientId: pulumi.Output<string>;
  readonly principalId: pulumi.Output<string>;
  readonly identityId: pulumi.Output<string>;
  readonly subject: string;

  constructor(name: string, args: WorkloadIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:azure:WorkloadIdentity", name, {}, opts);
    const parent = { parent: this };
    this.subject = serviceAccountSubject(args.namespace, args.serviceAccountName);

    const identity = new UserAssignedIdentity(`${name}-identity`, { resourceGroupName: args.resourceGroupName, location: args.location, tags: args.tags }, parent);
    const credential = new FederatedIdentityCredential(
      `${name}-federation`,
      {
        resourceGroupName: args.resourceGroupName,
        resourceName: identity.name,
        issuer: args.oidcIssuerUrl,
        subject: this.subject,
        audiences: [WORKLOAD_IDENTITY_AUDIENCE],
      },
      parent,
    );
    const grants = args.roles.map((r, i) =>
      grant(`${name}-${r.role}-${i}`, { subscriptionId: args.subscriptionId, principalId: identity.principalId, principalType: "ServicePrincipal", role: r.role, scope: r.scope }, parent),
    );
    // Consumers get the client id only once the federation and the roles exist, so a pod never starts with a bare identity.
    this.clientId = pulumi.all([identity.clientId, credential.urn, ...grants.map((g) => g.urn)]).apply(([clientId]) => clientId);
    this.principalId = identity.principalId;
    this.identityId = identity.id;
    this.registerOutputs({ clientId: this.clientId });
  }
}

export function serviceAccountSubject(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}
