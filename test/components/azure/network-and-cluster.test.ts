/**
 * The Azure network and AKS cluster as declared for dev-like and prod-like arguments: subnets, NAT
 * egress, the database's private DNS zone, and every security and availability property of AKS.
 */
import { AUDIT_LOG_CATEGORIES, Cluster, SPOT_TAINT, SYSTEM_ONLY_TAINT } from "../../../components/azure/cluster";
import { ROLES } from "../../../components/azure/roles";
import { declare } from "../aws/support";
import { devArgs, idOf, ofType, one, planAzure, prodArgs, referenced, T, type AzurePlan } from "./support";

let dev: AzurePlan;
let prod: AzurePlan;

beforeAll(async () => {
  dev = await planAzure(devArgs());
  prod = await planAzure(prodArgs());
});

const roleOf = (r: { inputs: Record<string, any> }) => String(r.inputs.roleDefinitionId).split("/").pop();

describe("network", () => {
  test("a VNet with an AKS subnet and a subnet delegated to PostgreSQL flexible servers", () => {
    const vnet = one(prod, T.vnet);
    expect(vnet.inputs.addressSpace).toEqual({ addressPrefixes: ["10.50.0.0/16"] });
    expect(vnet.inputs.subnets).toBeUndefined();
    const aks = one(prod, T.subnet, "-aks");
    const db = one(prod, T.subnet, "-database");
    expect(aks.inputs.addressPrefix).toBe("10.50.0.0/20");
    expect(db.inputs.addressPrefix).toBe("10.50.16.0/24");
    expect(db.inputs.delegations).toEqual([{ name: "postgres-flexible-servers", serviceName: "Microsoft.DBforPostgreSQL/flexibleServers" }]);
    expect(aks.inputs.delegations).toBeUndefined();
    for (const s of [aks, db]) {
      expect(referenced(prod, s, "virtualNetworkName")).toEqual([vnet]);
      expect(s.inputs.defaultOutboundAccess).toBe(false);
    }
    // Created one after the other: Azure refuses concurrent subnet changes in a VNet.
    expect(db.dependencies).toContain(aks.urn);
  });

  test("the AKS subnet leaves through a Standard NAT gateway with a Standard static IP, and reaches Storage through its service endpoint", () => {
    const aks = one(prod, T.subnet, "-aks");
    const nat = one(prod, T.nat);
    const ip = one(prod, T.publicIp);
    expect(aks.inputs.natGateway).toEqual({ id: idOf(nat) });
    expect(aks.inputs.serviceEndpoints).toEqual([{ service: "Microsoft.Storage" }]);
    expect(nat.inputs.sku).toEqual({ name: "Standard" });
    expect(nat.inputs.publicIpAddresses).toEqual([{ id: idOf(ip) }]);
    expect(ip.inputs).toMatchObject({ sku: { name: "Standard", tier: "Regional" }, publicIPAllocationMethod: "Static" });
    expect(one(prod, T.subnet, "-database").inputs.natGateway).toBeUndefined();
  });

  test("NAT gateway and its IP are zonal in prod, unzoned in dev", () => {
    expect(one(prod, T.nat).inputs.zones).toEqual(["1"]);
    expect(one(prod, T.publicIp).inputs.zones).toEqual(["1"]);
    expect(one(dev, T.nat).inputs.zones).toBeUndefined();
    expect(one(dev, T.publicIp).inputs.zones).toBeUndefined();
  });

  test("the private DNS zone <name>.private.postgres.database.azure.com is linked to the VNet", () => {
    const zone = one(prod, T.dnsZone);
    expect(zone.inputs.privateZoneName).toBe("mlops-prod.private.postgres.database.azure.com");
    expect(zone.inputs.location).toBe("global");
    const link = one(prod, T.dnsLink);
    expect(referenced(prod, link, "privateZoneName")).toEqual([zone]);
    expect(link.inputs.virtualNetwork).toEqual({ id: idOf(one(prod, T.vnet)) });
    expect(link.inputs.registrationEnabled).toBe(false);
  });
});

describe("AKS", () => {
  test("Azure CNI overlay with Cilium network policy, NAT gateway outbound, service range outside the VNet", () => {
    for (const p of [dev, prod]) {
      expect(one(p, T.cluster).inputs.networkProfile).toEqual({
        networkPlugin: "azure",
        networkPluginMode: "overlay",
        networkDataplane: "cilium",
        networkPolicy: "cilium",
        podCidr: "192.168.0.0/16",
        serviceCidr: "172.16.0.0/16",
        dnsServiceIP: "172.16.0.10",
        loadBalancerSku: "standard",
        outboundType: "userAssignedNATGateway",
      });
    }
  });

  test("OIDC issuer and workload identity on; Entra ID with Azure RBAC and the admin groups", () => {
    const cluster = one(prod, T.cluster).inputs;
    expect(cluster.oidcIssuerProfile).toEqual({ enabled: true });
    expect(cluster.securityProfile.workloadIdentity).toEqual({ enabled: true });
    expect(cluster.aadProfile).toEqual({
      managed: true,
      enableAzureRBAC: true,
      adminGroupObjectIDs: ["11111111-1111-1111-1111-111111111111"],
      tenantID: "00000000-0000-0000-0000-0000000000aa",
    });
    expect(cluster.enableRBAC).toBe(true);
  });

  test("local accounts disabled in prod only; API server limited to the authorised ranges", () => {
    expect(one(prod, T.cluster).inputs.disableLocalAccounts).toBe(true);
    expect(one(dev, T.cluster).inputs.disableLocalAccounts).toBe(false);
    expect(one(prod, T.cluster).inputs.apiServerAccessProfile).toEqual({ authorizedIPRanges: ["198.51.100.0/24", "203.0.113.0/24"], enablePrivateCluster: false });
    expect(one(dev, T.cluster).inputs.apiServerAccessProfile.authorizedIPRanges).toEqual(["203.0.113.0/24"]);
  });

  test("version, upgrade channels, SLA tier; pools' orchestratorVersion follows kubernetesVersion", () => {
    const cluster = one(prod, T.cluster).inputs;
    expect(cluster.kubernetesVersion).toBe("1.33");
    expect(cluster.autoUpgradeProfile).toEqual({ upgradeChannel: "patch", nodeOSUpgradeChannel: "SecurityPatch" });
    expect(cluster.sku).toEqual({ name: "Base", tier: "Standard" });
    expect(one(dev, T.cluster).inputs.sku.tier).toBe("Free");
    expect(cluster.agentPoolProfiles[0].orchestratorVersion).toBe("1.33");
    expect(one(prod, T.pool).inputs.orchestratorVersion).toBe("1.33");
  });

  test("a system pool (always regular, fixed size) and an autoscaled user pool, no node public IPs", () => {
    for (const p of [dev, prod]) {
      const pools = one(p, T.cluster).inputs.agentPoolProfiles;
      expect(pools).toHaveLength(1);
      expect(pools[0]).toMatchObject({ name: "system", mode: "System", scaleSetPriority: "Regular", enableAutoScaling: false, enableNodePublicIP: false, vnetSubnetID: idOf(one(p, T.subnet, "-aks")) });
      const user = one(p, T.pool).inputs;
      expect(user).toMatchObject({ agentPoolName: "user", mode: "User", enableAutoScaling: true, enableNodePublicIP: false, vnetSubnetID: idOf(one(p, T.subnet, "-aks")) });
      expect(user.resourceName).toBe(one(p, T.cluster).state.name);
    }
    expect(one(prod, T.cluster).inputs.agentPoolProfiles[0]).toMatchObject({ vmSize: "Standard_D4s_v5", count: 3 });
    expect(one(prod, T.pool).inputs).toMatchObject({ vmSize: "Standard_D8s_v5", minCount: 3, maxCount: 12, count: 3 });
    expect(one(dev, T.pool).inputs).toMatchObject({ minCount: 1, maxCount: 3 });
  });

  test("spot user nodes in dev only (Delete eviction, pay up to the on-demand price); regular in prod", () => {
    expect(one(dev, T.pool).inputs).toMatchObject({ scaleSetPriority: "Spot", scaleSetEvictionPolicy: "Delete", spotMaxPrice: -1, nodeTaints: [SPOT_TAINT] });
    expect(one(prod, T.pool).inputs.scaleSetPriority).toBe("Regular");
    expect(one(prod, T.pool).inputs.spotMaxPrice).toBeUndefined();
    // Application pods stay off the system nodes when the user pool is regular; with spot (dev) they may use them.
    expect(one(prod, T.cluster).inputs.agentPoolProfiles[0].nodeTaints).toEqual([SYSTEM_ONLY_TAINT]);
    expect(one(dev, T.cluster).inputs.agentPoolProfiles[0].nodeTaints).toBeUndefined();
  });

  test("availability zones 1-3 on both pools in prod, none in dev", () => {
    expect(one(prod, T.cluster).inputs.agentPoolProfiles[0].availabilityZones).toEqual(["1", "2", "3"]);
    expect(one(prod, T.pool).inputs.availabilityZones).toEqual(["1", "2", "3"]);
    expect(one(dev, T.cluster).inputs.agentPoolProfiles[0].availabilityZones).toBeUndefined();
    expect(one(dev, T.pool).inputs.availabilityZones).toBeUndefined();
  });

  test("a user-assigned control-plane identity with Network Contributor on the AKS subnet, granted before the cluster", () => {
    const cluster = one(prod, T.cluster);
    const identity = one(prod, T.identity, "cluster-identity");
    expect(cluster.inputs.identity).toEqual({ type: "UserAssigned", userAssignedIdentities: [idOf(identity)] });
    const grant = one(prod, T.role, "subnet-network-contributor");
    expect(roleOf(grant)).toBe(ROLES.networkContributor);
    expect(grant.inputs).toMatchObject({ principalId: identity.state.principalId, principalType: "ServicePrincipal", scope: idOf(one(prod, T.subnet, "-aks")) });
    expect(grant.inputs.roleDefinitionId).toBe(`/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.Authorization/roleDefinitions/${ROLES.networkContributor}`);
    expect(cluster.dependencies).toContain(grant.urn);
  });

  test("Secrets are envelope-encrypted with a Key Vault key in prod (the cluster identity may use that key only)", () => {
    const key = one(prod, T.key, "aks-secrets");
    expect(one(prod, T.cluster).inputs.securityProfile.azureKeyVaultKms).toEqual({ enabled: true, keyId: key.state.keyUriWithVersion, keyVaultNetworkAccess: "Public" });
    const grant = one(prod, T.role, "kms-crypto-user");
    expect(roleOf(grant)).toBe(ROLES.keyVaultCryptoUser);
    expect(grant.inputs.scope).toBe(idOf(key));
    expect(grant.inputs.principalId).toBe(one(prod, T.identity, "cluster-identity").state.principalId);
    expect(one(prod, T.cluster).dependencies).toContain(grant.urn);
    expect(one(dev, T.cluster).inputs.securityProfile.azureKeyVaultKms).toBeUndefined();
  });

  test("audit logs (kube-audit-admin, guard) to Log Analytics for the retention asked, prod only", () => {
    const setting = one(prod, T.diagnostic);
    expect(referenced(prod, setting, "resourceUri")).toEqual([one(prod, T.cluster)]);
    expect(setting.inputs.logs).toEqual(AUDIT_LOG_CATEGORIES.map((category) => ({ category, enabled: true })));
    expect(AUDIT_LOG_CATEGORIES).toContain("kube-audit-admin");
    expect(setting.inputs.workspaceId).toBe(idOf(one(prod, T.workspace)));
    expect(one(prod, T.workspace).inputs).toMatchObject({ retentionInDays: 90, features: { disableLocalAuth: true } });
    expect(ofType(dev, T.diagnostic)).toHaveLength(0);
  });

  test("the configured admin groups, and nobody else, get AKS RBAC Cluster Admin on this cluster only; nodes get AcrPull on the registry only", () => {
    const groups = prodArgs().cluster.adminGroupObjectIds;
    const admins = ofType(prod, T.role).filter((r) => roleOf(r) === ROLES.aksRbacClusterAdmin);
    expect(admins.map((a) => a.inputs.principalId).sort()).toEqual([...groups].sort());
    for (const admin of admins) expect(admin.inputs).toMatchObject({ principalType: "Group", scope: idOf(one(prod, T.cluster)) });
    // Whoever runs `pulumi up` (the mocked client's object id) gets nothing of its own.
    expect(ofType(prod, T.role).some((r) => r.inputs.principalId === "00000000-0000-0000-0000-0000000000dd")).toBe(false);
    const pull = one(prod, T.role, "kubelet-acr-pull");
    expect(roleOf(pull)).toBe(ROLES.acrPull);
    expect(pull.inputs).toMatchObject({ principalId: one(prod, T.cluster).state.identityProfile.kubeletidentity.objectId, scope: idOf(one(prod, T.registry)) });
  });

  test("invalid pool sizes are refused", async () => {
    const args = devArgs();
    await expect(
      declare(() => {
        new Cluster("bad", {
          ...args.cluster,
          resourceGroupName: "rg",
          location: "westeurope",
          subscriptionId: "s",
          tenantId: "t",
          clusterName: "bad",
          network: { aksSubnetId: "subnet", podCidr: "192.168.0.0/16", serviceCidr: "172.16.0.0/16", dnsServiceIp: "172.16.0.10" },
          userPool: { vmSize: "Standard_D4s_v5", min: 4, max: 2, spot: false },
          tags: args.tags,
        });
      }),
    ).rejects.toThrow(/min 4 exceeds max 2/);
  });
});
