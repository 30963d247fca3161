/**
 * A deploy request's scaling and resource wishes against the stack's serving profile. Replicas and
 * resources are stack configuration applied by `pulumi up`; a deploy only moves a registry alias, so
 * the comparison is reported to the caller, never applied and never a reason to refuse.
 */
import type { ServingProfile } from "../env";

export interface ScalingConfig {
  min_instances: number;
  max_instances: number;
  target_cpu_utilization: number;
}

export interface ResourceConfig {
  cpu: string;
  memory: string;
}

export interface InfrastructureReport {
  requested: { scaling_config: ScalingConfig | null; resource_config: ResourceConfig | null };
  stack_profile: ServingProfile | null;
  within_profile: boolean | null;
  differences: string[];
  applied: false;
  note: string;
}

export const INFRASTRUCTURE_NOTE =
  "replicas and resources are stack configuration (mlops:models[].replicas and mlops:models[].resources), applied by pulumi up; this deploy moves the registry alias only";

export function infrastructureReport(scaling: ScalingConfig | undefined, resources: ResourceConfig | undefined, profile: ServingProfile | undefined): InfrastructureReport {
  const differences: string[] = [];
  if (profile && scaling) {
    if (scaling.min_instances < profile.minReplicas) differences.push(`min_instances ${scaling.min_instances} is below the stack's minimum of ${profile.minReplicas} replicas`);
    if (scaling.max_instances > profile.maxReplicas) differences.push(`max_instances ${scaling.max_instances} is above the stack's maximum of ${profile.maxReplicas} replicas`);
    if (scaling.target_cpu_utilization !== profile.targetCpuUtilization) differences.push(`target_cpu_utilization ${scaling.target_cpu_utilization} differs from the stack's ${profile.targetCpuUtilization}`);
  }
  if (profile && resources) {
    if (resources.cpu !== profile.cpu) differences.push(`cpu ${resources.cpu} differs from the stack's ${profile.cpu}`);
    if (resources.memory !== profile.memory) differences.push(`memory ${resources.memory} differs from the stack's ${profile.memory}`);
  }
  const asked = scaling !== undefined || resources !== undefined;
  return {
    requested: { scaling_config: scaling ?? null, resource_config: resources ?? null },
    stack_profile: profile ?? null,
    within_profile: profile && asked ? differences.length === 0 : null,
    differences,
    applied: false,
    note: INFRASTRUCTURE_NOTE,
  };
}
