import { AgentPool } from "@pulumi/azure-native/containerservice/agentPool";
import { listManagedClusterUserCredentialsOutput } from "@pulumi/azure-native/containerservice/listManagedClusterUserCredentials";
import { ManagedCluster } from "@pulumi/azure-native/containerservice/managedCluster";
import { UserAssignedIdentity } from "@pulumi/azure-native/managedidentity/userAssignedIdentity";
import { DiagnosticSetting } from "@pulumi/azure-native/monitor/diagnosticSetting";
import { Workspace } from "@pulumi/azure-native/operationalinsights/workspace";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Tags, Toleration } from "../contracts";
import { GPU_NODE_LABELS, GPU_TAINT_STRING, NvidiaDevicePlugin } from "../shared/gpu";
import { execKubeconfig } from "../shared/kubeconfig";
import { grant } from "./roles";

/** The application id of the AKS AAD server (the same in every tenant): the audience kubelogin asks tokens for. */
export const AKS_AAD_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630";
/** AKS's built-in default StorageClass (Azure Disk CSI, Premium/Standard SSD LRS): the workloads' claims name none. */
export const DEFAULT_STORAGE_CLASS = "managed-csi";
/** The taint AKS puts on every spot node; only pods tolerating it run there. */
export const SPOT_TAINT = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule";

/** The toleration of a `key=value:Effect` node taint, for the pods that may run on those nodes. */
export function tolerationOf(taint: string): Toleration {
  const m = /^([^=]+)=([^:]*):(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(taint);
  if (!m) throw new Error(`not a node taint key=value:Effect: ${taint}`);
  return { key: m[1], operator: "Equal", value: m[2], effect: m[3] as Toleration["effect"] };
}
/** Keeps application pods off the system pool when a regular user pool exists. */
export const SYSTEM_ONLY_TAINT = "CriticalAddonsOnly=true:NoSchedule";
/** The AKS control-plane log categories exported for the audit trail (writes through the API server, and Entra ID authentication). */
export const AUDIT_LOG_CATEGORIES = ["kube-audit-admin", "guard"];

/**
 * The cluster autoscaler's settings (AKS `autoScalerProfile`, every value a string as the API takes it):
 * how soon it adds nodes for pending pods and how soon it removes unneeded ones.
 */
export interface AutoScalerProfile {
  expander: "least-waste" | "most-pods" | "priority" | "random";
  scanInterval: string;
  newPodScaleUpDelay: string;
  maxNodeProvisionTime: string;
  scaleDownDelayAfterAdd: string;
  scaleDownUnneededTime: string;
  scaleDownUtilizationThreshold: string;
  maxGracefulTerminationSec: string;
  skipNodesWithSystemPods: "true" | "false";
  skipNodesWithLocalStorage: "true" | "false";
  balanceSimilarNodeGroups: "true" | "false";
}

/** A GPU agent pool (N-series VM size; AKS installs the NVIDIA driver), autoscaled between min and max nodes. */
export interface GpuPoolArgs {
  vmSize: string;
  min: number;
  max: number;
  spot: boolean;
}

export type UpgradeChannel = "none" | "patch" | "stable" | "rapid" | "node-image";
export type NodeOsUpgradeChannel = "None" | "Unmanaged" | "NodeImage" | "SecurityPatch";

export interface ClusterArgs {
  resourceGroupName: pulumi.Input<string>;
  location: string;
  subscriptionId: pulumi.Input<string>;
  tenantId: pulumi.Input<string>;
  clusterName: string;
  /** A minor ("1.33") or a patch ("1.33.2"); the node pools' orchestratorVersion follows it, so a bump upgrades the nodes too. */
  kubernetesVersion: string;
  /** "Standard" gives the API server an uptime SLA (prod); "Free" has none. */
  tier: "Free" | "Standard";
  network: {
    aksSubnetId: pulumi.Input<string>;
    podCidr: string;
    serviceCidr: string;
    dnsServiceIp: string;
  };
  /** CIDRs allowed to reach the public API server (never 0.0.0.0/0 in prod: config refuses it). */
  authorizedIpRanges: string[];
  /** Entra ID groups whose members are cluster admins (Azure RBAC). */
  adminGroupObjectIds: string[];
  /** The principal running `pulumi up` (getClientConfig's objectId): granted AKS RBAC Cluster Admin so the program can deploy the workloads. */
  /** No local (certificate) admin account: every access goes through Entra ID. */
  disableLocalAccounts: boolean;
  /** Spread nodes over availability zones 1-3. */
  zones: boolean;
  systemPool: { vmSize: string; count: number };
  userPool: { vmSize: string; min: number; max: number; spot: boolean };
  /** The cluster autoscaler of the user (and GPU) pools; unset: AKS's defaults. */
  autoScalerProfile?: AutoScalerProfile;
  /**
   * A GPU agent pool tainted nvidia.com/gpu=present:NoSchedule and labelled, so only pods that tolerate it
   * (and request nvidia.com/gpu) land there, with the NVIDIA device plugin; unset: none.
   */
  gpuPool?: GpuPoolArgs;
  upgradeChannel: UpgradeChannel;
  nodeOsUpgradeChannel: NodeOsUpgradeChannel;
  /** Key Vault KMS envelope encryption of Secrets in etcd: the versioned key id and the key's resource id (for the role). */
  secretsEncryptionKey?: { keyIdWithVersion: pulumi.Input<string>; keyResourceId: pulumi.Input<string> };
  /** Export the audit logs to a Log Analytics workspace kept this many days; unset: no export. */
  auditLogRetentionDays?: number;
  /**
   * The stack's Log Analytics workspace (components/azure/logs.ts): Container Insights (the monitoring
   * add-on, Entra ID authentication) ships container logs there, and the audit export uses it instead
   * of a workspace of its own. Unset: no container logs, and the audit export creates its workspace.
   */
  logAnalyticsWorkspaceId?: pulumi.Input<string>;
  tags: Tags;
}

/** AKS with Entra ID + Azure RBAC, workload identity, Azure CNI overlay with Cilium, NAT gateway egress and two node pools. */
export class Cluster extends pulumi.ComponentResource {
  readonly cluster: ManagedCluster;
  readonly name: pulumi.Output<string>;
  readonly oidcIssuerUrl: pulumi.Output<string>;
  /** Object id of the nodes' (kubelet) identity: what pulls images. */
  readonly kubeletObjectId: pulumi.Output<string>;
  readonly kubeconfig: pulumi.Output<string>;
  readonly provider: k8s.Provider;
  readonly storageClassName = DEFAULT_STORAGE_CLASS;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    if (args.userPool.min > args.userPool.max) throw new Error(`user pool min ${args.userPool.min} exceeds max ${args.userPool.max}`);
    if (args.gpuPool && !(args.gpuPool.min >= 0 && args.gpuPool.max >= Math.max(1, args.gpuPool.min))) throw new Error(`GPU pool size ${args.gpuPool.min}-${args.gpuPool.max}: need 0 <= min <= max, max >= 1`);
    super("mlops:azure:Cluster", name, {}, opts);
    const parent = { parent: this };
    const base = { resourceGroupName: args.resourceGroupName, location: args.location };
    const availabilityZones = args.zones ? ["1", "2", "3"] : undefined;

    // A user-assigned control-plane identity exists before the cluster, so its roles (subnet for the NAT gateway, KMS key) are in place at creation.
    const identity = new UserAssignedIdentity(`${name}-identity`, { ...base, tags: args.tags }, parent);
    const prerequisites = [
      grant(`${name}-subnet-network-contributor`, { subscriptionId: args.subscriptionId, principalId: identity.principalId, principalType: "ServicePrincipal", role: "networkContributor", scope: args.network.aksSubnetId }, parent),
    ];
    if (args.secretsEncryptionKey) {
      prerequisites.push(
        grant(
          `${name}-kms-crypto-user`,
          { subscriptionId: args.subscriptionId, principalId: identity.principalId, principalType: "ServicePrincipal", role: "keyVaultCryptoUser", scope: args.secretsEncryptionKey.keyResourceId },
          parent,
        ),
      );
    }

    this.cluster = new ManagedCluster(
      `${name}-aks`,
      {
        ...base,
        resourceName: args.clusterName,
        dnsPrefix: args.clusterName,
        kubernetesVersion: args.kubernetesVersion,
        sku: { name: "Base", tier: args.tier },
        supportPlan: "KubernetesOfficial",
        identity: { type: "UserAssigned", userAssignedIdentities: [identity.id] },
        nodeResourceGroup: `${args.clusterName}-nodes`,
        // Nobody changes the node resource group's resources behind AKS's back.
        nodeResourceGroupProfile: { restrictionLevel: "ReadOnly" },
        enableRBAC: true,
        aadProfile: { managed: true, enableAzureRBAC: true, adminGroupObjectIDs: args.adminGroupObjectIds, tenantID: args.tenantId },
        disableLocalAccounts: args.disableLocalAccounts,
        publicNetworkAccess: "Enabled",
        apiServerAccessProfile: { authorizedIPRanges: args.authorizedIpRanges, enablePrivateCluster: false },
        oidcIssuerProfile: { enabled: true },
        // Container Insights: its agent authenticates with the add-on's managed identity (no workspace key); the data collection rule is logs.ts'.
        addonProfiles: args.logAnalyticsWorkspaceId
          ? { omsagent: { enabled: true, config: { logAnalyticsWorkspaceResourceID: args.logAnalyticsWorkspaceId, useAADAuth: "true" } } }
          : undefined,
        securityProfile: {
          workloadIdentity: { enabled: true },
          imageCleaner: { enabled: true, intervalHours: 168 },
          azureKeyVaultKms: args.secretsEncryptionKey
            ? { enabled: true, keyId: args.secretsEncryptionKey.keyIdWithVersion, keyVaultNetworkAccess: "Public" }
            : undefined,
        },
        networkProfile: {
          networkPlugin: "azure",
          networkPluginMode: "overlay",
          networkDataplane: "cilium",
          // Cilium enforces NetworkPolicies (without an engine every NetworkPolicy of the workloads is ignored).
          networkPolicy: "cilium",
          podCidr: args.network.podCidr,
          serviceCidr: args.network.serviceCidr,
          dnsServiceIP: args.network.dnsServiceIp,
          loadBalancerSku: "standard",
          outboundType: "userAssignedNATGateway",
        },
        autoUpgradeProfile: { upgradeChannel: args.upgradeChannel, nodeOSUpgradeChannel: args.nodeOsUpgradeChannel },
        // The cluster autoscaler of every pool with enableAutoScaling: pending pods add nodes, unneeded ones go.
        autoScalerProfile: args.autoScalerProfile,
        // The system pool is the only inline pool (AKS needs one at creation). Spot is never allowed on a system pool.
        agentPoolProfiles: [
          {
            name: "system",
            mode: "System",
            type: "VirtualMachineScaleSets",
            osType: "Linux",
            osSKU: "AzureLinux",
            vmSize: args.systemPool.vmSize,
            count: args.systemPool.count,
            enableAutoScaling: false,
            scaleSetPriority: "Regular",
            orchestratorVersion: args.kubernetesVersion,
            vnetSubnetID: args.network.aksSubnetId,
            availabilityZones,
            enableNodePublicIP: false,
            // With a regular user pool, application pods stay off the system nodes; with a spot user pool (dev) they may run here.
            nodeTaints: args.userPool.spot ? undefined : [SYSTEM_ONLY_TAINT],
            upgradeSettings: { maxSurge: "33%" },
            tags: args.tags,
          },
        ],
        tags: args.tags,
      },
      { parent: this, dependsOn: prerequisites },
    );
    this.name = this.cluster.name;
    this.oidcIssuerUrl = this.cluster.oidcIssuerProfile.apply((p) => {
      if (!p?.issuerURL) throw new Error(`AKS cluster ${args.clusterName} reports no OIDC issuer URL`);
      return p.issuerURL;
    });
    this.kubeletObjectId = this.cluster.identityProfile.apply((p) => {
      const objectId = p?.kubeletidentity?.objectId;
      if (!objectId) throw new Error(`AKS cluster ${args.clusterName} reports no kubelet identity`);
      return objectId;
    });

    const userPool = new AgentPool(
      `${name}-user-pool`,
      {
        resourceGroupName: args.resourceGroupName,
        resourceName: this.cluster.name,
        agentPoolName: "user",
        mode: "User",
        type: "VirtualMachineScaleSets",
        osType: "Linux",
        osSKU: "AzureLinux",
        vmSize: args.userPool.vmSize,
        enableAutoScaling: true,
        minCount: args.userPool.min,
        maxCount: args.userPool.max,
        count: args.userPool.min,
        ...(args.userPool.spot
          ? { scaleSetPriority: "Spot", scaleSetEvictionPolicy: "Delete", spotMaxPrice: -1, nodeTaints: [SPOT_TAINT] }
          : { scaleSetPriority: "Regular", upgradeSettings: { maxSurge: "33%" } }),
        orchestratorVersion: args.kubernetesVersion,
        vnetSubnetID: args.network.aksSubnetId,
        availabilityZones,
        enableNodePublicIP: false,
        tags: args.tags,
      },
      // The autoscaler owns the node count.
      { parent: this, ignoreChanges: ["count"] },
    );
    const gpuPool = args.gpuPool ? this.createGpuPool(name, args, args.gpuPool, availabilityZones) : undefined;

    // The configured admin groups (CI's deploy identity's group, a break-glass group) and nobody else, whoever
    // runs `pulumi up`: with Azure RBAC, Kubernetes access is a role assignment on the cluster. One per
    // group, named after it, so adding a group never replaces another's access.
    const access: pulumi.Resource[] = args.adminGroupObjectIds.map((groupId) =>
      grant(`${name}-admin-${groupId}`, { subscriptionId: args.subscriptionId, principalId: groupId, principalType: "Group", role: "aksRbacClusterAdmin", scope: this.cluster.id }, parent),
    );
    if (args.auditLogRetentionDays !== undefined) this.exportAuditLogs(name, args, args.auditLogRetentionDays);

    // Only the CA is taken from the user credentials (an AAD cluster's carry no token anyway); the user runs kubelogin.
    const credentials = listManagedClusterUserCredentialsOutput({ resourceGroupName: args.resourceGroupName, resourceName: this.cluster.name }, parent);
    this.kubeconfig = pulumi.secret(
      pulumi.all([this.cluster.fqdn, credentials]).apply(([fqdn, creds]) =>
        execKubeconfig({
          clusterName: args.clusterName,
          server: `https://${fqdn}:443`,
          caData: certificateAuthorityOf(creds.kubeconfigs?.[0]?.value ?? ""),
          exec: {
            command: "kubelogin",
            args: ["get-token", "--login", "azurecli", "--server-id", AKS_AAD_SERVER_APP_ID],
            installHint: "kubelogin is required to reach the AKS cluster: `az aks install-cli` or https://azure.github.io/kubelogin/install.html, then `az login`",
          },
        }),
      ),
    );
    // Workloads wait for the user nodes and for the admins' access: a provider that depends on them orders every object after them.
    this.provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: this.kubeconfig, enableServerSideApply: true }, { parent: this, dependsOn: [userPool, ...access] });
    if (gpuPool && args.gpuPool) {
      // AKS installs the driver, not the device plugin that advertises nvidia.com/gpu.
      new NvidiaDevicePlugin(
        `${name}-nvidia-device-plugin`,
        { kubernetesVersion: args.kubernetesVersion, provider: this.provider, tolerations: args.gpuPool.spot ? [tolerationOf(SPOT_TAINT)] : [], dependsOn: [gpuPool] },
        { parent: this },
      );
    }
    this.registerOutputs({ name: this.name, oidcIssuerUrl: this.oidcIssuerUrl });
  }

  /** GPU nodes: tainted and labelled, from zero while no GPU pod waits, spot like the user pool (then also spot-tainted). */
  private createGpuPool(name: string, args: ClusterArgs, gpu: GpuPoolArgs, availabilityZones: string[] | undefined): AgentPool {
    return new AgentPool(
      `${name}-gpu-pool`,
      {
        resourceGroupName: args.resourceGroupName,
        resourceName: this.cluster.name,
        agentPoolName: "gpu",
        mode: "User",
        type: "VirtualMachineScaleSets",
        osType: "Linux",
        osSKU: "AzureLinux",
        vmSize: gpu.vmSize,
        gpuProfile: { driver: "Install" },
        enableAutoScaling: true,
        minCount: gpu.min,
        maxCount: gpu.max,
        count: gpu.min,
        nodeLabels: { ...GPU_NODE_LABELS },
        ...(gpu.spot
          ? { scaleSetPriority: "Spot", scaleSetEvictionPolicy: "Delete", spotMaxPrice: -1, nodeTaints: [GPU_TAINT_STRING, SPOT_TAINT] }
          : { scaleSetPriority: "Regular", nodeTaints: [GPU_TAINT_STRING], upgradeSettings: { maxSurge: "33%" } }),
        orchestratorVersion: args.kubernetesVersion,
        vnetSubnetID: args.network.aksSubnetId,
        availabilityZones,
        enableNodePublicIP: false,
        tags: args.tags,
      },
      { parent: this, ignoreChanges: ["count"] },
    );
  }

  /** The control plane's audit trail (kube-audit-admin, guard) into a Log Analytics workspace with the given retention. */
  private exportAuditLogs(name: string, args: ClusterArgs, retentionDays: number): void {
    const workspaceId = args.logAnalyticsWorkspaceId ?? this.auditWorkspace(name, args, retentionDays).id;
    new DiagnosticSetting(
      `${name}-audit`,
      {
        name: "audit-logs",
        resourceUri: this.cluster.id,
        workspaceId,
        logAnalyticsDestinationType: "Dedicated",
        logs: AUDIT_LOG_CATEGORIES.map((category) => ({ category, enabled: true })),
      },
      { parent: this },
    );
  }

  /** A workspace for the audit trail alone, when the foundation has none for the cluster. */
  private auditWorkspace(name: string, args: ClusterArgs, retentionDays: number): Workspace {
    return new Workspace(
      `${name}-logs`,
      {
        resourceGroupName: args.resourceGroupName,
        location: args.location,
        sku: { name: "PerGB2018" },
        retentionInDays: retentionDays,
        features: { disableLocalAuth: true },
        tags: args.tags,
      },
      { parent: this },
    );
  }
}

/** `certificate-authority-data` of the first cluster of a base64-encoded kubeconfig (YAML, as AKS returns it). */
export function certificateAuthorityOf(base64Kubeconfig: string): string {
  const text = Buffer.from(base64Kubeconfig, "base64").toString("utf8");
  const match = /certificate-authority-data:\s*"?([A-Za-z0-9+/=]+)"?/.exec(text);
  if (!match) throw new Error("the AKS user credentials hold no certificate-authority-data");
  return match[1];
}
