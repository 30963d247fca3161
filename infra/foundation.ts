import type * as pulumi from "@pulumi/pulumi";
import type { Foundation, FoundationOutputs } from "../components/contracts";
import type { PlatformConfig } from "./config";
import { dns01Zone } from "./ingress-config";
import type { EnvironmentProfile } from "./profiles";
import type { BuiltFoundation, FoundationRequest } from "./clouds/target";

export { MLFLOW_SERVICE_ACCOUNT } from "./clouds/target";

export interface FoundationResult {
  foundation: Foundation;
  /** Stack outputs, the same names on every cloud (FoundationOutputs). */
  outputs: { [K in keyof FoundationOutputs]: pulumi.Input<unknown> };
  /** Where images are pulled from when `mlops:images.registry` is unset: the registry the foundation creates. */
  defaultImageRegistry: string;
}

/**
 * Builds the Foundation of the stack's cloud. Each cloud module (infra/clouds/<cloud>/) maps its own
 * settings and the environment's neutral decisions onto its components' explicit arguments; modules
 * load lazily, so a stack loads one cloud's SDK only.
 */
export async function buildFoundation(config: PlatformConfig, profile: EnvironmentProfile, tags: Record<string, string>, stack: string): Promise<FoundationResult> {
  // Generic over the narrowed config, so each case hands its builder that cloud's settings type.
  const request = <C extends Pick<PlatformConfig, "network" | "cluster" | "database">>(c: C): FoundationRequest<Pick<C, "network" | "cluster" | "database">> => ({
    name: `mlops-${config.environment}`,
    environment: config.environment,
    stack,
    settings: { network: c.network, cluster: c.cluster, database: c.database },
    artifactPrefix: config.artifactStore.prefix,
    profile,
    tags,
    dnsZone: dns01Zone(config.ingress),
  });
  let built: BuiltFoundation;
  switch (config.cloud) {
    case "aws":
      built = await (await import("./clouds/aws/foundation")).buildAwsFoundation(request(config));
      break;
    case "gcp":
      built = await (await import("./clouds/gcp/foundation")).buildGcpFoundation(request(config));
      break;
    case "azure":
      built = await (await import("./clouds/azure/foundation")).buildAzureFoundation(request(config));
      break;
    case "local":
      built = await (await import("./clouds/local/foundation")).buildLocalFoundation(request(config));
      break;
  }
  return { foundation: built.component.foundation, outputs: { ...built.component.outputs }, defaultImageRegistry: built.defaultImageRegistry };
}
