/** What Azure computes for the Azure foundation's resources and invokes (components/azure), for Pulumi's mocks. */
import { createHash } from "node:crypto";
import type { ProviderMocks } from "./types";

export const AZURE_SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000001";
export const AZURE_TENANT_ID = "00000000-0000-0000-0000-0000000000aa";
export const AZURE_DEPLOYER_OBJECT_ID = "00000000-0000-0000-0000-0000000000dd";
export const OFFLINE_AKS_CA = Buffer.from("offline-aks-ca").toString("base64");

const rgPath = (rg: unknown) => `/subscriptions/${AZURE_SUBSCRIPTION_ID}/resourceGroups/${rg}`;
const guid = (seed: string) => {
  const hex = createHash("sha256").update(seed).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
};

const computedOutputs: ProviderMocks["computedOutputs"] = {
  "azure-native:resources:ResourceGroup": (a) => ({ name: a.inputs.resourceGroupName ?? a.name }),
  "azure-native:network:VirtualNetwork": (a) => ({ name: a.inputs.virtualNetworkName ?? a.name }),
  "azure-native:privatedns:PrivateZone": (a) => ({ name: a.inputs.privateZoneName ?? a.name }),
  "azure-native:managedidentity:UserAssignedIdentity": (a) => ({
    name: a.inputs.resourceName ?? a.name,
    clientId: guid(`client-${a.name}`),
    principalId: guid(`principal-${a.name}`),
    tenantId: AZURE_TENANT_ID,
  }),
  "azure-native:containerservice:ManagedCluster": (a) => {
    const name = a.inputs.resourceName ?? a.name;
    return {
      name,
      fqdn: `${a.inputs.dnsPrefix ?? name}-offline.hcp.${a.inputs.location ?? "westeurope"}.azmk8s.io`,
      oidcIssuerProfile: { enabled: true, issuerURL: `https://${a.inputs.location ?? "westeurope"}.oic.prod-aks.azure.com/${AZURE_TENANT_ID}/${guid(`oidc-${name}`)}/` },
      identityProfile: { kubeletidentity: { clientId: guid(`kubelet-client-${name}`), objectId: guid(`kubelet-object-${name}`), resourceId: `${rgPath(`${name}-nodes`)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}-agentpool` } },
    };
  },
  "azure-native:containerservice:AgentPool": (a) => ({ name: a.inputs.agentPoolName ?? a.name }),
  "azure-native:dbforpostgresql:Server": (a) => {
    const name = a.inputs.serverName ?? `${a.name}-offline`;
    return { name, fullyQualifiedDomainName: `${name}.postgres.database.azure.com` };
  },
  "azure-native:storage:StorageAccount": (a) => ({ name: a.inputs.accountName ?? a.name }),
  "azure-native:storage:BlobContainer": (a) => ({ name: a.inputs.containerName ?? a.name }),
  "azure-native:containerregistry:Registry": (a) => {
    const name = a.inputs.registryName ?? a.name;
    return { name, loginServer: `${String(name).toLowerCase()}.azurecr.io` };
  },
  "azure-native:keyvault:Vault": (a) => {
    const name = a.inputs.vaultName ?? a.name;
    return { name, properties: { ...(a.inputs.properties ?? {}), vaultUri: `https://${name}.vault.azure.net/` } };
  },
  "azure-native:keyvault:Key": (a) => {
    const name = a.inputs.keyName ?? a.name;
    const uri = `https://${a.inputs.vaultName}.vault.azure.net/keys/${name}`;
    return { name, keyUri: uri, keyUriWithVersion: `${uri}/0123456789abcdef0123456789abcdef` };
  },
  "azure-native:operationalinsights:Workspace": (a) => ({ name: a.inputs.workspaceName ?? a.name, customerId: guid(`workspace-${a.name}`) }),
};

/** ARM ids: what other resources receive as `id` (role scopes, subnet references). */
const computedIds: ProviderMocks["computedIds"] = {
  "azure-native:resources:ResourceGroup": (s) => rgPath(s.name),
  "azure-native:network:VirtualNetwork": (s) => `${rgPath(s.resourceGroupName)}/providers/Microsoft.Network/virtualNetworks/${s.name}`,
  "azure-native:network:Subnet": (s) => `${rgPath(s.resourceGroupName)}/providers/Microsoft.Network/virtualNetworks/${s.virtualNetworkName}/subnets/${s.subnetName ?? s.name}`,
  "azure-native:privatedns:PrivateZone": (s) => `${rgPath(s.resourceGroupName)}/providers/Microsoft.Network/privateDnsZones/${s.name}`,
  "azure-native:managedidentity:UserAssignedIdentity": (s) => `${rgPath(s.resourceGroupName)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${s.name}`,
  "azure-native:containerservice:ManagedCluster": (s) => `${rgPath(s.resourceGroupName)}/providers/Microsoft.ContainerService/managedClusters/${s.name}`,
  "azure-native:dbforpostgresql:Server": (s) => `${rgPath(s.resourceGroupName)}/providers/Microsoft.DBforPostgreSQL/flexibleServers/${s.name}`,
  "azure-native:storage:StorageAccount": (s) => `${rgPath(s.resourceGroupName)}/providers/Microsoft.Storage/storageAccounts/${s.name}`,
  "azure-native:storage:BlobContainer": (s) =>
    `${rgPath(s.resourceGroupName)}/providers/Microsoft.Storage/storageAccounts/${s.accountName}/blobServices/default/containers/${s.name}`,
  "azure-native:containerregistry:Registry": (s) => `${rgPath(s.resourceGroupName)}/providers/Microsoft.ContainerRegistry/registries/${s.name}`,
  "azure-native:keyvault:Vault": (s) => `${rgPath(s.resourceGroupName)}/providers/Microsoft.KeyVault/vaults/${s.name}`,
  "azure-native:keyvault:Key": (s) => `${rgPath(s.resourceGroupName)}/providers/Microsoft.KeyVault/vaults/${s.vaultName}/keys/${s.name}`,
  "azure-native:operationalinsights:Workspace": (s) => `${rgPath(s.resourceGroupName)}/providers/Microsoft.OperationalInsights/workspaces/${s.name}`,
  "azure-native:monitor:DataCollectionRule": (s) => `${rgPath(s.resourceGroupName)}/providers/Microsoft.Insights/dataCollectionRules/${s.name}`,
};

/** The kubeconfig AKS returns for an Entra ID cluster's user (exec through kubelogin, no token), base64-encoded. */
export function aksUserKubeconfig(clusterName: string): string {
  const yaml = [
    "apiVersion: v1",
    "clusters:",
    "- cluster:",
    `    certificate-authority-data: ${OFFLINE_AKS_CA}`,
    `    server: https://${clusterName}-offline.hcp.westeurope.azmk8s.io:443`,
    `  name: ${clusterName}`,
    "users:",
    `- name: clusterUser_${clusterName}`,
    "  user:",
    "    exec:",
    "      command: kubelogin",
  ].join("\n");
  return Buffer.from(yaml).toString("base64");
}

const invokeResults: ProviderMocks["invokeResults"] = {
  "azure-native:authorization:getClientConfig": () => ({ clientId: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", objectId: AZURE_DEPLOYER_OBJECT_ID, subscriptionId: AZURE_SUBSCRIPTION_ID, tenantId: AZURE_TENANT_ID }),
  "azure-native:containerservice:listManagedClusterUserCredentials": (a) => ({ kubeconfigs: [{ name: "clusterUser", value: aksUserKubeconfig(String(a.inputs.resourceName)) }] }),
};

export const azureMocks: ProviderMocks = { computedOutputs, computedIds, invokeResults };
