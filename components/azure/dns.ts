import * as pulumi from "@pulumi/pulumi";
import type { IngressSupport, Tags } from "../contracts";
import { serviceAccountIdentity } from "../shared/workload-identity";
import { WorkloadIdentity } from "./identity";

/**
 * The ingress controller's Service on AKS's Standard Load Balancer: public by default, or internal
 * (`azure-load-balancer-internal`) in the cluster's subnet. AKS probes HTTP ports on a path (since
 * 1.24): nginx answers 200 on `/healthz`, where `/` would be a 404 and the backends marked down.
 */
export const AZURE_INGRESS_ANNOTATIONS: IngressSupport["serviceAnnotations"] = {
  public: { "service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path": "/healthz" },
  internal: {
    "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
    "service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path": "/healthz",
  },
};

/** An Azure DNS zone's resource id: the subscription and resource group it lives in, and its name. */
const ZONE_ID = /^\/subscriptions\/([0-9a-fA-F-]{36})\/resourceGroups\/([^/]+)\/providers\/Microsoft\.Network\/dnszones\/([^/]+)$/i;

export function parseDnsZoneId(id: string): { subscriptionId: string; resourceGroupName: string; zoneName: string } {
  const m = ZONE_ID.exec(id);
  if (!m) throw new Error(`"${id}" is not an Azure DNS zone id (/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Network/dnszones/<zone>)`);
  return { subscriptionId: m[1], resourceGroupName: m[2], zoneName: m[3] };
}

/** The Azure DNS zone cert-manager answers DNS-01 challenges in, and the service account it runs as. */
export interface AzureDnsDns01Args {
  /** The zone's name, e.g. ml.example.com. */
  zoneName: string;
  /** The zone's resource id (it may live in another resource group or subscription). */
  zoneId: string;
  serviceAccount: { namespace: string; name: string };
  /** Where the managed identity lives: the foundation's resource group. */
  resourceGroupName: pulumi.Input<string>;
  location: string;
  oidcIssuerUrl: pulumi.Input<string>;
  tags: Tags;
}

/**
 * What the foundation tells the ingress: the load balancer annotations and, with a zone, cert-manager's
 * DNS-01 in Azure DNS as a managed identity that only its service account can use (a federated
 * credential), holding DNS Zone Contributor on that one zone.
 */
export function azureIngressSupport(name: string, args: AzureDnsDns01Args | undefined, opts: pulumi.ComponentResourceOptions): IngressSupport {
  return { exposure: "loadBalancer", serviceAnnotations: AZURE_INGRESS_ANNOTATIONS, ...(args ? { dns01: azureDnsDns01(name, args, opts) } : {}) };
}

function azureDnsDns01(name: string, args: AzureDnsDns01Args, opts: pulumi.ComponentResourceOptions): NonNullable<IngressSupport["dns01"]> {
  const zone = parseDnsZoneId(args.zoneId);
  if (zone.zoneName.toLowerCase() !== args.zoneName.toLowerCase()) throw new Error(`the DNS zone id names zone "${zone.zoneName}", not "${args.zoneName}"`);
  const identity = new WorkloadIdentity(
    name,
    {
      resourceGroupName: args.resourceGroupName,
      location: args.location,
      // The role assignment lives in the zone's subscription.
      subscriptionId: zone.subscriptionId,
      oidcIssuerUrl: args.oidcIssuerUrl,
      namespace: args.serviceAccount.namespace,
      serviceAccountName: args.serviceAccount.name,
      roles: [{ role: "dnsZoneContributor", scope: args.zoneId }],
      tags: args.tags,
    },
    opts,
  );
  return {
    zone: args.zoneName,
    solver: identity.clientId.apply((clientId): Record<string, unknown> => ({
      azureDNS: {
        subscriptionID: zone.subscriptionId,
        resourceGroupName: zone.resourceGroupName,
        hostedZoneName: args.zoneName,
        environment: "AzurePublicCloud",
        managedIdentity: { clientID: clientId },
      },
    })),
    identity: serviceAccountIdentity(
      args.serviceAccount,
      identity.clientId.apply((clientId): Record<string, string> => ({ "azure.workload.identity/client-id": clientId })),
      // Azure's webhook injects the token only into pods that carry this label.
      { "azure.workload.identity/use": "true" },
    ),
  };
}
