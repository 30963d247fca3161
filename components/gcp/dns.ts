import { DnsManagedZoneIamMember } from "@pulumi/gcp/dns/dnsManagedZoneIamMember";
import * as pulumi from "@pulumi/pulumi";
import type { IngressSupport } from "../contracts";
import { serviceAccountIdentity } from "../shared/workload-identity";
import { serviceAccountId, WorkloadServiceAccount } from "./identity";

/**
 * The ingress controller's Service: GKE's external passthrough Network Load Balancer by default, or an
 * internal one (`networking.gke.io/load-balancer-type: Internal`) in the cluster's subnet.
 */
export const GCP_INGRESS_ANNOTATIONS: IngressSupport["serviceAnnotations"] = {
  public: {},
  internal: { "networking.gke.io/load-balancer-type": "Internal" },
};

/** Cloud DNS: cert-manager's records in one managed zone, nothing else. */
export const CERT_MANAGER_ZONE_ROLE = "roles/dns.admin";

/** GKE's metadata server answers workload identity token requests on these ports (besides 443). */
export const GKE_METADATA_PORTS = [80, 988];

/** The Cloud DNS managed zone cert-manager answers DNS-01 challenges in, and the service account it runs as. */
export interface CloudDnsDns01Args {
  project: string;
  /** The zone's DNS name, e.g. ml.example.com. */
  zoneName: string;
  /** The managed zone's name in Cloud DNS (in `project`), e.g. ml-example-com. */
  zoneId: string;
  serviceAccount: { namespace: string; name: string };
  /** GKE cluster name: the base of the Google service account's id. */
  clusterName: string;
  /** The workload identity pool exists once the cluster does. */
  cluster: pulumi.Resource;
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * What the foundation tells the ingress: the load balancer annotations and, with a zone, cert-manager's
 * DNS-01 in Cloud DNS as a Google service account that only its Kubernetes service account may act as
 * (Workload Identity), granted on that one managed zone.
 */
export function gcpIngressSupport(name: string, args: CloudDnsDns01Args | undefined, opts: pulumi.ComponentResourceOptions): IngressSupport {
  return { exposure: "loadBalancer", serviceAnnotations: GCP_INGRESS_ANNOTATIONS, ...(args ? { dns01: cloudDnsDns01(name, args, opts) } : {}) };
}

function cloudDnsDns01(name: string, args: CloudDnsDns01Args, opts: pulumi.ComponentResourceOptions): NonNullable<IngressSupport["dns01"]> {
  const account = new WorkloadServiceAccount(
    name,
    {
      project: args.project,
      accountId: serviceAccountId(args.clusterName, "certmgr"),
      displayName: "cert-manager (ACME DNS-01 records in the platform's zone only)",
      namespace: args.serviceAccount.namespace,
      serviceAccountName: args.serviceAccount.name,
      bucketRoles: [],
      cluster: args.cluster,
      dependsOn: args.dependsOn,
    },
    opts,
  );
  const zoneGrant = new DnsManagedZoneIamMember(
    `${name}-zone`,
    { project: args.project, managedZone: args.zoneId, role: CERT_MANAGER_ZONE_ROLE, member: pulumi.interpolate`serviceAccount:${account.email}` },
    opts,
  );
  // cert-manager gets the e-mail once the zone grant exists, so it never starts with a bare account.
  const email = pulumi.all([account.email, zoneGrant.urn]).apply(([e]) => e);
  return {
    zone: args.zoneName,
    // hostedZoneName: cert-manager writes to this zone and never needs to list the project's zones.
    solver: email.apply((): Record<string, unknown> => ({ cloudDNS: { project: args.project, hostedZoneName: args.zoneId } })),
    identity: serviceAccountIdentity(args.serviceAccount, email.apply((e): Record<string, string> => ({ "iam.gke.io/gcp-service-account": e }))),
    tokenEndpointPorts: GKE_METADATA_PORTS,
  };
}
