import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./config";
import { buildFoundation } from "./foundation";
import { deployOperations } from "./operations";
import { resolveProfile } from "./profiles";
import { standardTags } from "./tags";
import { deployWorkloads } from "./workloads";

/**
 * The stack program: validate the config (nothing is declared when it is wrong), pick the
 * environment profile, build the cloud's Foundation, deploy the workloads on it, export outputs.
 */
export async function main(): Promise<Record<string, unknown>> {
  const config = loadConfig();
  const profile = resolveProfile(config);
  const tags = standardTags(config);
  const foundation = await buildFoundation(config, profile, tags, pulumi.getStack());
  const workloads = deployWorkloads(foundation.foundation, config, profile, config.images.registry ?? foundation.defaultImageRegistry);
  // Backups (Velero) and log shipping: beside the workloads, on the same cluster, independent of them.
  const operations = deployOperations(`mlops-${config.environment}`, foundation.foundation, profile, pulumi.getStack());
  return { ...foundation.outputs, ...workloads.outputs, ...operations.outputs };
}
