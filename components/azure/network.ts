import { NatGateway } from "@pulumi/azure-native/network/natGateway";
import { PublicIPAddress } from "@pulumi/azure-native/network/publicIPAddress";
import { Subnet } from "@pulumi/azure-native/network/subnet";
import { VirtualNetwork } from "@pulumi/azure-native/network/virtualNetwork";
import { PrivateZone } from "@pulumi/azure-native/privatedns/privateZone";
import { VirtualNetworkLink } from "@pulumi/azure-native/privatedns/virtualNetworkLink";
import * as pulumi from "@pulumi/pulumi";
import type { Tags } from "../contracts";

export interface NetworkArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  /** The VNet's address space, e.g. 10.30.0.0/16. */
  vnetCidr: string;
  /** Nodes (Azure CNI overlay: pods get addresses from podCidr, not from this subnet). */
  aksSubnetCidr: string;
  /** Delegated to Microsoft.DBforPostgreSQL/flexibleServers: nothing else can be placed in it. */
  databaseSubnetCidr: string;
  /** The overlay's pod range: must not overlap the VNet or anything it peers with. */
  podCidr: string;
  /** Kubernetes Services' range, and the cluster DNS address inside it: must not overlap the VNet. */
  serviceCidr: string;
  dnsServiceIp: string;
  /** The NAT gateway's availability zone (a NAT gateway lives in at most one); unset: no zone (regional placement). */
  natGatewayZone?: string;
  /** Name of the private DNS zone `<name>.private.postgres.database.azure.com`. */
  databaseDnsZoneName: string;
  tags: Tags;
}

/** VNet, AKS and database subnets, NAT gateway egress for the nodes, and the database's private DNS zone. */
export class Network extends pulumi.ComponentResource {
  readonly vnetId: pulumi.Output<string>;
  readonly aksSubnetId: pulumi.Output<string>;
  readonly databaseSubnetId: pulumi.Output<string>;
  readonly natGatewayId: pulumi.Output<string>;
  readonly databaseDnsZoneId: pulumi.Output<string>;
  /** The zone's VNet link: a flexible server in the VNet can be created only once its zone resolves there. */
  readonly databaseDnsZoneLink: VirtualNetworkLink;
  readonly podCidr: string;
  readonly serviceCidr: string;
  readonly dnsServiceIp: string;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:azure:Network", name, {}, opts);
    const parent = { parent: this };
    const base = { resourceGroupName: args.resourceGroupName, location: args.location, tags: args.tags };
    const zones = args.natGatewayZone ? [args.natGatewayZone] : undefined;
    this.podCidr = args.podCidr;
    this.serviceCidr = args.serviceCidr;
    this.dnsServiceIp = args.dnsServiceIp;

    const vnet = new VirtualNetwork(`${name}-vnet`, { ...base, addressSpace: { addressPrefixes: [args.vnetCidr] } }, parent);

    // Egress of the nodes: a Standard static public IP behind a NAT gateway, in the same zone when zonal.
    const egressIp = new PublicIPAddress(
      `${name}-nat-ip`,
      { ...base, sku: { name: "Standard", tier: "Regional" }, publicIPAllocationMethod: "Static", publicIPAddressVersion: "IPv4", zones },
      parent,
    );
    const nat = new NatGateway(
      `${name}-nat`,
      { ...base, sku: { name: "Standard" }, publicIpAddresses: [{ id: egressIp.id }], idleTimeoutInMinutes: 4, zones },
      parent,
    );

    // Subnets are separate resources (none inline in the VNet); Azure refuses concurrent subnet changes in one VNet, so they are created one after the other.
    const aksSubnet = new Subnet(
      `${name}-aks`,
      {
        resourceGroupName: args.resourceGroupName,
        virtualNetworkName: vnet.name,
        addressPrefix: args.aksSubnetCidr,
        natGateway: { id: nat.id },
        // The storage account admits this subnet only (virtual network rule), which needs the service endpoint.
        serviceEndpoints: [{ service: "Microsoft.Storage" }],
        // No implicit outbound IP: egress only through the NAT gateway.
        defaultOutboundAccess: false,
      },
      parent,
    );
    const databaseSubnet = new Subnet(
      `${name}-database`,
      {
        resourceGroupName: args.resourceGroupName,
        virtualNetworkName: vnet.name,
        addressPrefix: args.databaseSubnetCidr,
        delegations: [{ name: "postgres-flexible-servers", serviceName: "Microsoft.DBforPostgreSQL/flexibleServers" }],
        defaultOutboundAccess: false,
      },
      { parent: this, dependsOn: [aksSubnet] },
    );

    const zone = new PrivateZone(
      `${name}-postgres-dns`,
      { resourceGroupName: args.resourceGroupName, privateZoneName: `${args.databaseDnsZoneName}.private.postgres.database.azure.com`, location: "global", tags: args.tags },
      parent,
    );
    this.databaseDnsZoneLink = new VirtualNetworkLink(
      `${name}-postgres-dns-link`,
      {
        resourceGroupName: args.resourceGroupName,
        privateZoneName: zone.name,
        location: "global",
        virtualNetwork: { id: vnet.id },
        registrationEnabled: false,
        tags: args.tags,
      },
      parent,
    );

    this.vnetId = vnet.id;
    this.aksSubnetId = aksSubnet.id;
    this.databaseSubnetId = databaseSubnet.id;
    this.natGatewayId = nat.id;
    this.databaseDnsZoneId = zone.id;
    this.registerOutputs({ vnetId: this.vnetId, aksSubnetId: this.aksSubnetId, databaseSubnetId: this.databaseSubnetId });
  }
}
