import { clusterRules } from "../../policies/rules/cluster";
import { clusterAuditLogs } from "../../policies/rules/cluster/audit-logs";
import { clusterDefaultDeny } from "../../policies/rules/cluster/default-deny";
import { clusterKubernetesVersion } from "../../policies/rules/cluster/kubernetes-version";
import { clusterNetworkPolicyEnforced } from "../../policies/rules/cluster/network-policy-enforced";
import { clusterNoPublicApi } from "../../policies/rules/cluster/no-public-api";
import { clusterNodeMetadata } from "../../policies/rules/cluster/node-metadata";
import { clusterPrivateNodes } from "../../policies/rules/cluster/private-nodes";
import { clusterSecretsEncryption } from "../../policies/rules/cluster/secrets-encryption";
import { contains, parseCidr } from "../../policies/rules/support/cidr";
import type { DeclaredResource } from "../../scripts/plan/harness";
import { check, dependsOn, DEPLOYMENT, goodDeployment, messages, resource, UNKNOWN } from "../helpers/policy-engine";
import { runCases, type RuleCase } from "./support/cases";
import { gpuPoolCases } from "./support/gpu-pool-cases";

const EKS = "aws:eks/cluster:Cluster";
const GKE = "gcp:container/cluster:Cluster";
const AKS = "azure-native:containerservice:ManagedCluster";
const NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";

/** An EKS cluster as the AWS foundation declares it; `changes` breaks one thing. */
function eks(changes: Record<string, any> = {}): DeclaredResource {
  return resource(
    EKS,
    {
      name: "mlops-prod",
      version: "1.33",
      vpcConfig: { subnetIds: ["subnet-a"], endpointPrivateAccess: true, endpointPublicAccess: true, publicAccessCidrs: ["203.0.113.0/24"] },
      encryptionConfig: { provider: { keyArn: "arn:aws:kms:us-west-2:123456789012:key/eks" }, resources: ["secrets"] },
      enabledClusterLogTypes: ["api", "audit", "authenticator", "controllerManager", "scheduler"],
      ...changes,
    },
    { name: "eks" },
  );
}

function withVpcCni(cluster: DeclaredResource, configurationValues?: string): DeclaredResource[] {
  return [cluster, dependsOn(resource("aws:eks/addon:Addon", { clusterName: "mlops-prod", addonName: "vpc-cni", configurationValues }), "clusterName", cluster)];
}

function nodeGroup(subnet: Record<string, any>, template?: Record<string, any>): DeclaredResource[] {
  const s = resource("aws:ec2/subnet:Subnet", { cidrBlock: "10.30.0.0/20", ...subnet }, { name: "private-0" });
  const lt = template ? resource("aws:ec2/launchTemplate:LaunchTemplate", template, { name: "nodes-lt" }) : undefined;
  const group = dependsOn(resource("aws:eks/nodeGroup:NodeGroup", { clusterName: "mlops-prod", subnetIds: [UNKNOWN] }, { name: "nodes" }), "subnetIds", s);
  if (lt) dependsOn(group, "launchTemplate", lt);
  return [s, ...(lt ? [lt] : []), group];
}

const IMDS_V2 = { metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 } };
const denyAll = (namespace: string, policyTypes?: string[]) => resource(NETWORK_POLICY, { metadata: { name: "default-deny", namespace }, spec: { podSelector: {}, ...(policyTypes ? { policyTypes } : {}) } });

const cases: RuleCase[] = [
  {
    rule: clusterNoPublicApi,
    mistake: "0.0.0.0/0 on the EKS API endpoint",
    bad: () => [eks({ vpcConfig: { endpointPublicAccess: true, publicAccessCidrs: ["0.0.0.0/0"] } })],
    expected: /EKS cluster "eks"'s public endpoint is open to 0.0.0.0\/0/,
    good: () => [eks()],
  },
  {
    rule: clusterNoPublicApi,
    mistake: "a public EKS endpoint without a CIDR list (EKS then admits 0.0.0.0/0)",
    bad: () => [eks({ vpcConfig: { endpointPublicAccess: true } })],
    expected: /admits every address \(no CIDR list\)/,
    good: () => [eks({ vpcConfig: { endpointPublicAccess: false, endpointPrivateAccess: true } })],
  },
  {
    rule: clusterNoPublicApi,
    mistake: "a CIDR outside the allow-list (a contractor's /16)",
    bad: () => [eks({ vpcConfig: { endpointPublicAccess: true, publicAccessCidrs: ["203.0.113.0/25", "100.64.0.0/16"] } })],
    expected: /admits 100.64.0.0\/16, outside the allow-list 203.0.113.0\/24/,
    good: () => [eks({ vpcConfig: { endpointPublicAccess: true, publicAccessCidrs: ["203.0.113.0/25", "203.0.113.128/25"] } })],
    params: { allowedCidrs: ["203.0.113.0/24"] },
  },
  {
    rule: clusterNoPublicApi,
    mistake: "GKE without master authorized networks and AKS without authorized IP ranges",
    bad: () => [resource(GKE, { privateClusterConfig: { enablePrivateNodes: true } }), resource(AKS, { apiServerAccessProfile: { authorizedIPRanges: [] } })],
    expected: /GKE cluster .* admits every address[\s\S]*AKS cluster .* admits every address/,
    good: () => [
      resource(GKE, { masterAuthorizedNetworksConfig: { cidrBlocks: [{ cidrBlock: "203.0.113.0/24", displayName: "office" }] } }),
      resource(AKS, { apiServerAccessProfile: { enablePrivateCluster: true } }),
    ],
  },
  {
    rule: clusterSecretsEncryption,
    mistake: "an EKS cluster storing Secrets without KMS envelope encryption",
    bad: () => [eks({ encryptionConfig: undefined })],
    expected: /stores Secrets without KMS envelope encryption/,
    good: () => [eks({ encryptionConfig: { provider: { keyArn: UNKNOWN }, resources: ["secrets"] } })],
  },
  {
    rule: clusterSecretsEncryption,
    mistake: "GKE and AKS without application-layer Secrets encryption",
    bad: () => [resource(GKE, { databaseEncryption: { state: "DECRYPTED" } }), resource(AKS, {})],
    expected: /no application-layer Secrets encryption[\s\S]*no Key Vault KMS encryption/,
    good: () => [resource(GKE, { databaseEncryption: { state: "ENCRYPTED", keyName: "projects/p/locations/eu/keyRings/r/cryptoKeys/gke" } }), resource(AKS, { securityProfile: { azureKeyVaultKms: { enabled: true, keyId: "https://kv/keys/aks/1" } } })],
  },
  {
    rule: clusterAuditLogs,
    mistake: "an EKS cluster shipping only API logs (no audit trail)",
    bad: () => [eks({ enabledClusterLogTypes: ["api"] })],
    expected: /does not ship the audit, authenticator log\(s\)/,
    good: () => [eks()],
  },
  {
    rule: clusterAuditLogs,
    mistake: "control-plane logs kept 7 days where 90 are required",
    bad: () => [eks(), resource("aws:cloudwatch/logGroup:LogGroup", { name: "/aws/eks/mlops-prod/cluster", retentionInDays: 7 })],
    expected: /keeps its control-plane logs 7 day\(s\) \(\/aws\/eks\/mlops-prod\/cluster\); at least 90 required/,
    good: () => [eks(), resource("aws:cloudwatch/logGroup:LogGroup", { name: "/aws/eks/mlops-prod/cluster", retentionInDays: 90 })],
    params: { minimumRetentionDays: 90 },
  },
  {
    rule: clusterAuditLogs,
    mistake: "an AKS cluster without a kube-audit diagnostic setting, GKE without API server logs",
    bad: () => [resource(AKS, {}), resource(GKE, { loggingConfig: { enableComponents: ["SYSTEM_COMPONENTS", "WORKLOADS"] } })],
    expected: /AKS cluster .* exports no audit log[\s\S]*GKE cluster .* does not send API server logs|GKE cluster .* does not send API server logs[\s\S]*AKS cluster .* exports no audit log/,
    good: () => {
      const aks = resource(AKS, {});
      const setting = dependsOn(resource("azure-native:monitor:DiagnosticSetting", { resourceUri: UNKNOWN, logs: [{ category: "kube-audit-admin", enabled: true }] }), "resourceUri", aks);
      return [aks, setting, resource(GKE, { loggingConfig: { enableComponents: ["SYSTEM_COMPONENTS", "APISERVER"] } })];
    },
  },
  {
    rule: clusterNetworkPolicyEnforced,
    mistake: "an EKS cluster whose VPC CNI does not enforce NetworkPolicies (they are silently ignored)",
    bad: () => withVpcCni(eks()),
    expected: /does not enforce NetworkPolicies: add the vpc-cni add-on/,
    good: () => withVpcCni(eks(), JSON.stringify({ enableNetworkPolicy: "true" })),
  },
  {
    rule: clusterNetworkPolicyEnforced,
    mistake: "GKE without network policy and AKS with networkPolicy none",
    bad: () => [resource(GKE, {}), resource(AKS, { networkProfile: { networkPlugin: "azure", networkPolicy: "none" } })],
    expected: /GKE cluster .* does not enforce NetworkPolicies[\s\S]*AKS cluster .* \(networkProfile.networkPolicy none\)/,
    good: () => [resource(GKE, { datapathProvider: "ADVANCED_DATAPATH" }), resource(AKS, { networkProfile: { networkPolicy: "cilium" } }), eks(), resource("kubernetes:helm.sh/v3:Release", { chart: "cilium", version: "1.18.2" })],
  },
  {
    rule: clusterDefaultDeny,
    mistake: "a namespace with workloads whose only policy denies ingress",
    bad: () => [resource(DEPLOYMENT, goodDeployment()), denyAll("mlops", ["Ingress"])],
    expected: /namespace "mlops" runs workloads without a default-deny Egress NetworkPolicy/,
    good: () => [resource(DEPLOYMENT, goodDeployment()), denyAll("mlops", ["Ingress", "Egress"])],
  },
  {
    rule: clusterDefaultDeny,
    mistake: "a Helm release installed into a namespace without any NetworkPolicy",
    bad: () => [resource("kubernetes:helm.sh/v3:Release", { chart: "kube-prometheus-stack", version: "79.12.0", namespace: "monitoring" })],
    expected: /namespace "monitoring" runs workloads without a default-deny Ingress and Egress NetworkPolicy/,
    good: () => [resource("kubernetes:helm.sh/v3:Release", { chart: "kube-prometheus-stack", version: "79.12.0", namespace: "monitoring" }), denyAll("monitoring", ["Ingress"]), denyAll("monitoring", ["Egress"])],
  },
  {
    rule: clusterPrivateNodes,
    mistake: "an EKS node group in a public subnet (nodes get public IPs)",
    bad: () => nodeGroup({ mapPublicIpOnLaunch: true }),
    expected: /node group "nodes" runs in subnet "private-0", which gives instances public IPs/,
    good: () => nodeGroup({ mapPublicIpOnLaunch: false }),
  },
  {
    rule: clusterPrivateNodes,
    mistake: "a launch template adding public IPs, GKE public nodes and an AKS pool with node public IPs",
    bad: () => [...nodeGroup({ mapPublicIpOnLaunch: false }, { networkInterfaces: [{ associatePublicIpAddress: "true" }] }), resource(GKE, {}), resource(AKS, { agentPoolProfiles: [{ name: "system", enableNodePublicIP: true }] })],
    expected: /gives nodes public IPs \(associatePublicIpAddress\)[\s\S]*has public nodes[\s\S]*pool\(s\) system/,
    good: () => [resource(GKE, { privateClusterConfig: { enablePrivateNodes: true } }), resource(AKS, { agentPoolProfiles: [{ name: "system" }] })],
  },
  {
    rule: clusterNodeMetadata,
    mistake: "nodes allowing IMDSv1 with a hop limit of 2 (pods can take the node role)",
    bad: () => nodeGroup({}, { metadataOptions: { httpTokens: "optional", httpPutResponseHopLimit: 2 } }),
    expected: /allows IMDSv1[\s\S]*hop limit 2/,
    good: () => nodeGroup({}, IMDS_V2),
  },
  {
    rule: clusterNodeMetadata,
    mistake: "a node group on EKS's default launch template, and a GKE pool exposing node metadata",
    bad: () => [...nodeGroup({}), resource("gcp:container/nodePool:NodePool", { nodeConfig: { machineType: "e2-standard-4" } })],
    expected: /has no launch template of this stack[\s\S]*exposes the node's metadata to pods/,
    good: () => [resource("gcp:container/nodePool:NodePool", { nodeConfig: { workloadMetadataConfig: { mode: "GKE_METADATA" } } })],
  },
  {
    rule: clusterKubernetesVersion,
    mistake: "a cluster left on Kubernetes 1.29 and one with no version pinned",
    bad: () => [eks({ version: "1.29" }), resource(AKS, {})],
    expected: /runs Kubernetes 1.29, older than the supported minimum 1.31[\s\S]*does not pin a Kubernetes version/,
    good: () => [eks({ version: "1.33" }), resource(GKE, { releaseChannel: { channel: "REGULAR" } }), resource(AKS, { kubernetesVersion: "1.32.5" })],
  },
  ...gpuPoolCases,
];

runCases("cluster", clusterRules, cases);

test("CIDR containment handles IPv4, IPv6 and host bits", () => {
  expect(contains(parseCidr("10.0.0.0/8")!, parseCidr("10.20.0.0/16")!)).toBe(true);
  expect(contains(parseCidr("10.20.0.0/16")!, parseCidr("10.0.0.0/8")!)).toBe(false);
  expect(contains(parseCidr("2001:db8::/32")!, parseCidr("2001:db8:1::/48")!)).toBe(true);
  expect(contains(parseCidr("2001:db8::/32")!, parseCidr("10.0.0.0/8")!)).toBe(false);
  expect(parseCidr("::/0")!.bits).toBe(0);
  expect(parseCidr("300.0.0.0/8")).toBeUndefined();
});

test("an IPv6 ::/0 on a public endpoint is the whole internet too", async () => {
  expect(messages(await check(clusterNoPublicApi, [eks({ vpcConfig: { publicAccessCidrs: ["203.0.113.0/24", "::/0"] } })]))).toEqual([expect.stringContaining("open to ::/0")]);
});

test("GKE master authorized networks with no CIDR block admit no external address, whatever the allow-list", async () => {
  // @pulumi/gcp: "Omit the nested cidrBlocks attribute to disallow external access (except the cluster node IPs)".
  const closed = [
    resource(GKE, { masterAuthorizedNetworksConfig: { cidrBlocks: [] } }, { name: "gke-empty" }),
    resource(GKE, { masterAuthorizedNetworksConfig: {} }, { name: "gke-omitted" }),
    resource(GKE, { masterAuthorizedNetworksConfig: { cidrBlocks: [], gcpPublicCidrsAccessEnabled: false } }, { name: "gke-no-gcp-ips" }),
  ];
  expect(messages(await check(clusterNoPublicApi, closed, { allowedCidrs: ["198.51.100.0/24"] }))).toEqual([]);
  // Without the block at all, GKE admits everyone; Google Cloud's public addresses are still reported when let in.
  expect(messages(await check(clusterNoPublicApi, [resource(GKE, {}, { name: "gke-open" })]))).toEqual([expect.stringMatching(/"gke-open"'s public endpoint admits every address/)]);
  const gcpIps = resource(GKE, { masterAuthorizedNetworksConfig: { cidrBlocks: [], gcpPublicCidrsAccessEnabled: true } }, { name: "gke-gcp-ips" });
  expect(messages(await check(clusterNoPublicApi, [gcpIps]))).toEqual([expect.stringContaining("admits every Google Cloud public IP address")]);
});

test("a node group naming subnets the stack does not declare cannot be verified and is reported", async () => {
  const group = resource("aws:eks/nodeGroup:NodeGroup", { subnetIds: ["subnet-0abc", "subnet-0def"] }, { name: "nodes" });
  expect(messages(await check(clusterPrivateNodes, [group]))).toEqual([expect.stringContaining("names 2 subnet(s) this stack does not declare")]);
});
