/**
 * EC2 instance-type facts the node group needs. No SDK import: infra/config.ts validates with it
 * before any cloud SDK loads.
 */

/** Graviton families carry `g` among the attributes after the generation digit (m7g, c6gn, t4g, x2gd, g5g): they need the arm64 AMI. */
export function isGraviton(instanceType: string): boolean {
  const attributes = /^[a-z]+\d+([a-z-]*)\./.exec(instanceType)?.[1] ?? "";
  return attributes.includes("g");
}

/** True when the list holds both arm64 and x86_64 types: one managed node group runs one AMI. */
export function mixesArchitectures(instanceTypes: string[]): boolean {
  return new Set(instanceTypes.map(isGraviton)).size > 1;
}

export function amiTypeFor(instanceTypes: string[]): "AL2023_ARM_64_STANDARD" | "AL2023_x86_64_STANDARD" {
  if (mixesArchitectures(instanceTypes)) throw new Error(`node instance types ${instanceTypes.join(", ")} mix arm64 and x86_64: one node group runs one AMI`);
  return isGraviton(instanceTypes[0]) ? "AL2023_ARM_64_STANDARD" : "AL2023_x86_64_STANDARD";
}

/**
 * NVIDIA GPU instance families: p (p3, p4d, p5...), g (g4dn, g5, g5g, g6, g6e...) and gr (gr6), but not
 * g4ad (AMD GPUs, no NVIDIA driver or device plugin).
 */
export function isGpuInstanceType(instanceType: string): boolean {
  const family = instanceType.split(".")[0];
  return /^(p|g|gr)\d/.test(family) && family !== "g4ad";
}
