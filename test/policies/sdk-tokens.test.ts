/**
 * The pack matches GCP and Azure resources on type tokens (policies/rules/support/types.ts) without
 * loading those SDKs; the program declares them with the SDK classes. Each token must be the
 * `__pulumiType` of a class of the installed SDK, or the rule silently matches nothing.
 */
import { azure, gcp } from "../../policies/rules/support/types";

/** The SDK class a token names: `gcp:container/cluster:Cluster` is `@pulumi/gcp/container`'s `Cluster`. */
function sdkClassOf(token: string): { __pulumiType?: string } | undefined {
  const [pkg, module, name] = token.split(":");
  const path = pkg === "gcp" ? `@pulumi/gcp/${module.split("/")[0]}` : `@pulumi/azure-native/${module}`;
  try {
    return (require(path) as Record<string, { __pulumiType?: string }>)[name];
  } catch {
    return undefined;
  }
}

const tokens = Object.entries({ ...prefixed("gcp", gcp), ...prefixed("azure", azure) }).map(([key, cls]) => [key, cls.__pulumiType] as const);

function prefixed(cloud: string, classes: Record<string, { __pulumiType: string }>): Record<string, { __pulumiType: string }> {
  return Object.fromEntries(Object.entries(classes).map(([k, v]) => [`${cloud}.${k}`, v]));
}

test.each(tokens)("%s (%s) is the type token of the installed SDK's class", (_key, token) => {
  expect(sdkClassOf(token)?.__pulumiType).toBe(token);
});
