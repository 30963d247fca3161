import * as compute from "@pulumi/gcp/compute";
import * as servicenetworking from "@pulumi/gcp/servicenetworking";
import * as pulumi from "@pulumi/pulumi";

/** Names of the subnet's secondary ranges that GKE's VPC-native networking uses. */
export const PODS_RANGE = "pods";
export const SERVICES_RANGE = "services";

export interface NetworkArgs {
  project: string;
  region: string;
  /** Primary range of the nodes' subnet, e.g. 10.20.0.0/20. */
  subnetCidr: string;
  /** Secondary range for pod IPs (VPC-native), e.g. 10.24.0.0/14. */
  podsCidr: string;
  /** Secondary range for Service cluster IPs, e.g. 10.28.0.0/20. */
  servicesCidr: string;
  /** Prefix length of the range reserved for Private Service Access (Cloud SQL's private IP lives there): 16 to 24. */
  privateServicesPrefixLength: number;
  /** VPC flow logs on the subnet (5-second aggregation, half of the flows sampled, all metadata). */
  flowLogs: boolean;
  labels: Record<string, string>;
  /** What must exist first (the project's APIs). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * A custom-mode VPC with one private subnet (pods and services as secondary ranges, Private Google
 * Access on), Cloud Router + Cloud NAT for egress, and Private Service Access for Cloud SQL.
 */
export class Network extends pulumi.ComponentResource {
  readonly network: compute.Network;
  readonly subnet: compute.Subnetwork;
  /** The servicenetworking connection: Cloud SQL with a private IP must wait for it. */
  readonly privateServicesConnection: servicenetworking.Connection;
  readonly podsRangeName = PODS_RANGE;
  readonly servicesRangeName = SERVICES_RANGE;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:gcp:Network", name, {}, opts);
    const parent: pulumi.CustomResourceOptions = { parent: this, dependsOn: args.dependsOn };
    const { project, region } = args;

    this.network = new compute.Network(
      `${name}-vpc`,
      { project, autoCreateSubnetworks: false, routingMode: "REGIONAL", description: "MLOps platform VPC (custom subnets only)" },
      parent,
    );
    this.subnet = new compute.Subnetwork(
      `${name}-nodes`,
      {
        project,
        region,
        network: this.network.id,
        ipCidrRange: args.subnetCidr,
        // Nodes have no public IPs: Google APIs (Artifact Registry, GCS, Cloud Logging) through Private Google Access.
        privateIpGoogleAccess: true,
        secondaryIpRanges: [
          { rangeName: PODS_RANGE, ipCidrRange: args.podsCidr },
          { rangeName: SERVICES_RANGE, ipCidrRange: args.servicesCidr },
        ],
        logConfig: args.flowLogs ? { aggregationInterval: "INTERVAL_5_SEC", flowSampling: 0.5, metadata: "INCLUDE_ALL_METADATA" } : undefined,
      },
      parent,
    );

    const router = new compute.Router(`${name}-router`, { project, region, network: this.network.id }, parent);
    new compute.RouterNat(
      `${name}-nat`,
      {
        project,
        region,
        router: router.name,
        natIpAllocateOption: "AUTO_ONLY",
        // Only this subnet (nodes and pods) leaves through NAT.
        sourceSubnetworkIpRangesToNat: "LIST_OF_SUBNETWORKS",
        subnetworks: [{ name: this.subnet.id, sourceIpRangesToNats: ["ALL_IP_RANGES"] }],
        logConfig: { enable: true, filter: "ERRORS_ONLY" },
      },
      parent,
    );

    // Private Service Access: a range of the VPC peered with Google's service producers (Cloud SQL).
    const peeringRange = new compute.GlobalAddress(
      `${name}-private-services`,
      { project, network: this.network.id, purpose: "VPC_PEERING", addressType: "INTERNAL", prefixLength: args.privateServicesPrefixLength, labels: args.labels },
      parent,
    );
    this.privateServicesConnection = new servicenetworking.Connection(
      `${name}-private-services`,
      {
        network: this.network.id,
        service: "servicenetworking.googleapis.com",
        reservedPeeringRanges: [peeringRange.name],
        // Removing the peering fails while Cloud SQL still holds (or just released) addresses in it; the VPC's deletion removes it.
        deletionPolicy: "ABANDON",
      },
      parent,
    );
    this.registerOutputs({ network: this.network.id, subnet: this.subnet.id });
  }
}
