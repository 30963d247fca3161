/**
 * What the clouds would compute for the program's resources (ids, ARNs, endpoints) and answer to its
 * data-source calls, so that dependent resources see realistic values under Pulumi's mocks. One entry
 * per resource type the program reads outputs of; every other type echoes its inputs.
 *
 * The entries live in one file per provider under ./mocks (aws, gcp, azure, random); this module
 * merges them into the tables the harness reads, and refuses a token defined twice.
 */
import { awsMocks } from "./mocks/aws";
import { azureMocks } from "./mocks/azure";
import { gcpMocks } from "./mocks/gcp";
import { randomMocks } from "./mocks/random";
import type { ComputedId, ComputedOutputs, InvokeResult, ProviderMocks } from "./mocks/types";

export type { ComputedId, ComputedOutputs, InvokeResult, ProviderMocks } from "./mocks/types";
export { ACCOUNT_ID, DEPLOYER_SESSION_ARN, callerIdentity } from "./mocks/aws";
export { CLOUD_SQL_PRIVATE_IP, GCP_PROJECT_NUMBER, GKE_CA, GKE_ENDPOINT } from "./mocks/gcp";
export { AZURE_DEPLOYER_OBJECT_ID, AZURE_SUBSCRIPTION_ID, AZURE_TENANT_ID, OFFLINE_AKS_CA, aksUserKubeconfig } from "./mocks/azure";

/** Every provider's mocks, in the order they are merged. */
export const providerMocks: Record<string, ProviderMocks> = { aws: awsMocks, gcp: gcpMocks, azure: azureMocks, random: randomMocks };

function merge<T>(table: keyof ProviderMocks): Record<string, T> {
  const merged: Record<string, T> = {};
  const owner: Record<string, string> = {};
  for (const [provider, mocks] of Object.entries(providerMocks)) {
    for (const [token, fn] of Object.entries(mocks[table])) {
      if (token in merged) throw new Error(`mock ${table} for ${token} defined by both mocks/${owner[token]}.ts and mocks/${provider}.ts`);
      merged[token] = fn as T;
      owner[token] = provider;
    }
  }
  return merged;
}

/** What the cloud computes for a resource, by type token. */
export const computedOutputs: Record<string, ComputedOutputs> = merge<ComputedOutputs>("computedOutputs");

/** Resource ids that the cloud derives from the resource (an S3 bucket's id is its name, an ARM id its path). */
export const computedIds: Record<string, ComputedId> = merge<ComputedId>("computedIds");

/** Data-source calls (invokes) the program makes, answered as the cloud would, by invoke token. */
export const invokeResults: Record<string, InvokeResult> = merge<InvokeResult>("invokeResults");
