import * as container from "@pulumi/gcp/container";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { GPU_NODE_LABELS, GPU_TAINT } from "../shared/gpu";
import { execKubeconfig } from "../shared/kubeconfig";

/** GKE ships this class (PD CSI driver, balanced persistent disk) and makes it the default. */
export const DEFAULT_STORAGE_CLASS = "standard-rwo";
/** With a least-privilege service account the scope is the whole platform; IAM decides what the nodes may do. */
export const NODE_OAUTH_SCOPES = ["https://www.googleapis.com/auth/cloud-platform"];
/** API server logs are what an incident review needs (policy cluster-audit-logs). */
export const LOGGING_COMPONENTS = ["SYSTEM_COMPONENTS", "APISERVER", "WORKLOADS"];
/** GKE spreads a regional cluster's node pools over three zones. */
const REGIONAL_ZONES = 3;

export interface ClusterArgs {
  project: string;
  /** The region for a regional control plane and node pool (prod), a zone for a zonal one (dev). */
  location: string;
  /** Whether `location` is a region: the node pool then spans three zones. */
  regional: boolean;
  clusterName: string;
  /** Minor version, e.g. "1.33": the control plane's minMasterVersion. */
  kubernetesVersion: string;
  releaseChannel: "RAPID" | "REGULAR" | "STABLE" | "EXTENDED";
  network: pulumi.Input<string>;
  subnet: pulumi.Input<string>;
  podsRangeName: string;
  servicesRangeName: string;
  /** The control plane's private range (a /28 that overlaps nothing). */
  masterCidr: string;
  /**
   * CIDRs allowed to reach the public endpoint. Never 0.0.0.0/0 (refused here, whatever the
   * environment: the policy pack refuses it in dev and prod alike). Empty: no address outside Google
   * and the VPC reaches the control plane.
   */
  authorizedNetworks: string[];
  nodeServiceAccountEmail: pulumi.Input<string>;
  nodePool: { machineType: string; min: number; max: number; spot: boolean; diskSizeGb: number };
  /**
   * How the cluster autoscaler grows and shrinks the pools: `locationPolicy` (BALANCED spreads a regional
   * pool's nodes evenly over its zones; ANY takes whatever zone has capacity, what spot and GPU pools want)
   * and the cluster's autoscaling profile (OPTIMIZE_UTILIZATION removes unneeded nodes sooner). Unset:
   * BALANCED and BALANCED.
   */
  autoscaling?: { locationPolicy: "BALANCED" | "ANY"; profile: "BALANCED" | "OPTIMIZE_UTILIZATION" };
  /**
   * A GPU node pool (guest accelerators, GKE-installed driver), tainted nvidia.com/gpu=present:NoSchedule
   * and labelled, autoscaled between min (0: none while no GPU pod waits) and max nodes. Unset: none.
   */
  gpuNodePool?: GpuNodePoolArgs;
  /** Cloud KMS key of application-layer Secrets encryption; none: Secrets only get Google's default encryption. */
  secretsKey?: pulumi.Input<string>;
  deletionProtection: boolean;
  /** Daily maintenance window start (UTC, "HH:MM"); unset: any time. */
  maintenanceStartTime?: string;
  labels: Record<string, string>;
  /** What the control plane waits for (APIs, the KMS grant of the GKE service agent). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
  /** What the node pool waits for (the node service account's role grants, its registry access). */
  nodesDependOn?: pulumi.Input<pulumi.Resource>[];
}

export interface GpuNodePoolArgs {
  /** A machine type that takes the accelerator: g2-standard-* (L4), n1-standard-* (T4, V100), a2-* (A100)... */
  machineType: string;
  /** The accelerator type, e.g. nvidia-l4, nvidia-tesla-t4. */
  acceleratorType: string;
  acceleratorCount: number;
  min: number;
  max: number;
  diskSizeGb: number;
  spot: boolean;
}

/** GKE's own taint effect spelling of GPU_TAINT. */
export const GKE_GPU_TAINT = { key: GPU_TAINT.key, value: GPU_TAINT.value, effect: "NO_SCHEDULE" } as const;

/** A private, VPC-native GKE cluster with Workload Identity, Dataplane V2, shielded nodes and its own node pool. */
export class Cluster extends pulumi.ComponentResource {
  readonly cluster: container.Cluster;
  readonly nodePool: container.NodePool;
  /** The GPU node pool, when configured. */
  readonly gpuNodePool?: container.NodePool;
  readonly name: pulumi.Output<string>;
  readonly kubeconfig: pulumi.Output<string>;
  readonly provider: k8s.Provider;
  readonly storageClassName = DEFAULT_STORAGE_CLASS;
  readonly workloadPool: string;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    validateClusterArgs(args);
    super("mlops:gcp:Cluster", name, {}, opts);
    this.workloadPool = `${args.project}.svc.id.goog`;
    const nodeConfig = this.nodeConfig(args);

    this.cluster = new container.Cluster(
      `${name}-gke`,
      {
        project: args.project,
        name: args.clusterName,
        location: args.location,
        network: args.network,
        subnetwork: args.subnet,
        networkingMode: "VPC_NATIVE",
        ipAllocationPolicy: { clusterSecondaryRangeName: args.podsRangeName, servicesSecondaryRangeName: args.servicesRangeName },
        privateClusterConfig: { enablePrivateNodes: true, enablePrivateEndpoint: false, masterIpv4CidrBlock: args.masterCidr },
        masterAuthorizedNetworksConfig: {
          cidrBlocks: args.authorizedNetworks.map((cidrBlock) => ({ cidrBlock, displayName: `authorized ${cidrBlock}` })),
          gcpPublicCidrsAccessEnabled: false,
        },
        masterAuth: { clientCertificateConfig: { issueClientCertificate: false } },
        enableLegacyAbac: false,
        workloadIdentityConfig: { workloadPool: this.workloadPool },
        // Dataplane V2 (Cilium) enforces NetworkPolicies; the legacy Calico addon must stay off with it.
        datapathProvider: "ADVANCED_DATAPATH",
        enableShieldedNodes: true,
        releaseChannel: { channel: args.releaseChannel },
        minMasterVersion: args.kubernetesVersion,
        databaseEncryption: args.secretsKey ? { state: "ENCRYPTED", keyName: args.secretsKey } : { state: "DECRYPTED" },
        loggingConfig: { enableComponents: LOGGING_COMPONENTS },
        addonsConfig: { gcePersistentDiskCsiDriverConfig: { enabled: true }, httpLoadBalancing: { disabled: false }, horizontalPodAutoscaling: { disabled: false } },
        maintenancePolicy: args.maintenanceStartTime ? { dailyMaintenanceWindow: { startTime: args.maintenanceStartTime } } : undefined,
        // The autoscaler of the node pools below (node auto-provisioning stays off: the pools are declared here).
        clusterAutoscaling: { enabled: false, autoscalingProfile: args.autoscaling?.profile ?? "BALANCED" },
        // GKE creates a default pool with the cluster; it is deleted at once. Until then its nodes run
        // as the least-privilege account with the GKE metadata server, not as the Compute Engine default.
        removeDefaultNodePool: true,
        initialNodeCount: 1,
        nodeConfig: { ...nodeConfig, spot: false },
        deletionProtection: args.deletionProtection,
        resourceLabels: args.labels,
      },
      // The default pool's settings are read back from whatever pool GKE reports: never diff on them.
      { parent: this, dependsOn: args.dependsOn, ignoreChanges: ["nodeConfig", "initialNodeCount"] },
    );
    this.name = this.cluster.name;

    this.nodePool = new container.NodePool(
      `${name}-nodes`,
      {
        project: args.project,
        cluster: this.cluster.id,
        location: args.location,
        // Per zone: a regional pool starts in three zones.
        initialNodeCount: Math.max(1, args.regional ? Math.ceil(args.nodePool.min / REGIONAL_ZONES) : args.nodePool.min),
        // The cluster autoscaler adds nodes for pending pods and removes unneeded ones, within the profile's bounds (over all zones).
        autoscaling: { totalMinNodeCount: args.nodePool.min, totalMaxNodeCount: args.nodePool.max, locationPolicy: args.autoscaling?.locationPolicy ?? "BALANCED" },
        // Version: none here on purpose. A release-channel cluster requires auto-upgrade on its pools,
        // and a pinned pool `version` would fight it (the provider documents the two as conflicting).
        // Raising kubernetesVersion raises minMasterVersion: the control plane upgrades in this update,
        // then GKE's node auto-upgrade moves this pool to the control plane's version (surge: one extra
        // node at a time, none unavailable) in the next maintenance window.
        management: { autoRepair: true, autoUpgrade: true },
        upgradeSettings: { strategy: "SURGE", maxSurge: 1, maxUnavailable: 0 },
        nodeConfig,
      },
      // initialNodeCount only matters at creation; changing it would replace the pool.
      { parent: this, dependsOn: args.nodesDependOn, ignoreChanges: ["initialNodeCount"] },
    );
    if (args.gpuNodePool) this.gpuNodePool = this.createGpuNodePool(name, args, args.gpuNodePool, nodeConfig);

    this.kubeconfig = pulumi.secret(
      pulumi.all([this.cluster.name, this.cluster.endpoint, this.cluster.masterAuth]).apply(([clusterName, endpoint, auth]) =>
        execKubeconfig({
          clusterName,
          server: `https://${endpoint}`,
          caData: auth.clusterCaCertificate ?? "",
          exec: {
            command: "gke-gcloud-auth-plugin",
            args: [],
            installHint: "Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin (https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl)",
          },
        }),
      ),
    );
    // Workloads wait for nodes: a provider that depends on the pool orders every object after it.
    this.provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: this.kubeconfig, enableServerSideApply: true }, { parent: this, dependsOn: [this.nodePool] });
    this.registerOutputs({ name: this.name, endpoint: this.cluster.endpoint });
  }

  /**
   * GPU nodes: the accelerators with the driver GKE installs (DEFAULT version for the node image), tainted
   * so only pods tolerating nvidia.com/gpu land there (GKE's device plugin advertises the resource), from
   * zero nodes while no GPU pod waits. Any zone with capacity (GPUs are scarce), otherwise as the main pool.
   */
  private createGpuNodePool(name: string, args: ClusterArgs, gpu: GpuNodePoolArgs, base: container.NodePoolArgs["nodeConfig"] & object): container.NodePool {
    return new container.NodePool(
      `${name}-gpu-nodes`,
      {
        project: args.project,
        cluster: this.cluster.id,
        location: args.location,
        initialNodeCount: args.regional ? Math.ceil(gpu.min / REGIONAL_ZONES) : gpu.min,
        autoscaling: { totalMinNodeCount: gpu.min, totalMaxNodeCount: gpu.max, locationPolicy: "ANY" },
        management: { autoRepair: true, autoUpgrade: true },
        upgradeSettings: { strategy: "SURGE", maxSurge: 1, maxUnavailable: 0 },
        nodeConfig: {
          ...base,
          machineType: gpu.machineType,
          diskSizeGb: gpu.diskSizeGb,
          spot: gpu.spot,
          guestAccelerators: [{ type: gpu.acceleratorType, count: gpu.acceleratorCount, gpuDriverInstallationConfig: { gpuDriverVersion: "DEFAULT" } }],
          taints: [{ ...GKE_GPU_TAINT }],
          labels: { ...GPU_NODE_LABELS },
        },
      },
      { parent: this, dependsOn: args.nodesDependOn, ignoreChanges: ["initialNodeCount"] },
    );
  }

  private nodeConfig(args: ClusterArgs): container.NodePoolArgs["nodeConfig"] & object {
    return {
      machineType: args.nodePool.machineType,
      diskSizeGb: args.nodePool.diskSizeGb,
      diskType: "pd-balanced",
      imageType: "COS_CONTAINERD",
      spot: args.nodePool.spot,
      serviceAccount: args.nodeServiceAccountEmail,
      oauthScopes: NODE_OAUTH_SCOPES,
      // Pods see the GKE metadata server (Workload Identity), never the node's credentials.
      workloadMetadataConfig: { mode: "GKE_METADATA" },
      shieldedInstanceConfig: { enableSecureBoot: true, enableIntegrityMonitoring: true },
      metadata: { "disable-legacy-endpoints": "true" },
      resourceLabels: args.labels,
    };
  }
}

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** Refuses what GKE would refuse late (after minutes of provisioning) or what is never wanted. */
export function validateClusterArgs(args: Pick<ClusterArgs, "clusterName" | "masterCidr" | "authorizedNetworks" | "nodePool" | "gpuNodePool">): void {
  if (!/^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/.test(args.clusterName)) throw new Error(`GKE cluster name "${args.clusterName}": 1-40 lower-case letters, digits and '-', starting with a letter`);
  if (!CIDR.test(args.masterCidr) || !args.masterCidr.endsWith("/28")) throw new Error(`master CIDR "${args.masterCidr}" must be a /28`);
  for (const cidr of args.authorizedNetworks) {
    if (!CIDR.test(cidr)) throw new Error(`authorized network "${cidr}" is not an IPv4 CIDR`);
    if (cidr.endsWith("/0")) throw new Error(`authorized network "${cidr}" opens the control plane to the whole internet: list the CIDRs of your offices, VPN or CI runners`);
  }
  const { min, max } = args.nodePool;
  if (!(Number.isInteger(min) && Number.isInteger(max) && min >= 1 && max >= min)) throw new Error(`node pool size ${min}-${max}: need 1 <= min <= max`);
  const gpu = args.gpuNodePool;
  if (gpu && !(Number.isInteger(gpu.min) && Number.isInteger(gpu.max) && gpu.min >= 0 && gpu.max >= Math.max(1, gpu.min))) throw new Error(`GPU node pool size ${gpu.min}-${gpu.max}: need 0 <= min <= max, max >= 1`);
}
