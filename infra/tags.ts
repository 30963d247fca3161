import type { PlatformConfig } from "./config";

export const PROJECT = "mlops-platform";

/** `{project, environment, managed-by}` plus the stack's `mlops:tags` (which carry team and cost-center). */
export function standardTags(config: PlatformConfig): Record<string, string> {
  return { ...config.tags, project: PROJECT, environment: config.environment, "managed-by": "pulumi" };
}
