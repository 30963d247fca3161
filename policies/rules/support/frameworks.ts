import type { PolicyComplianceFramework } from "@pulumi/policy";

/**
 * The frameworks rules cite. A rule names one framework (the field is singular) and, in
 * `specification`, the control it implements; multi-cloud rules cite the control of each cloud's
 * benchmark in that text.
 */
function framework(name: string, version: string, reference: string) {
  return (specification: string): PolicyComplianceFramework => ({ name, version, reference, specification });
}

export const cisAws = framework("CIS Amazon Web Services Foundations Benchmark", "3.0.0", "https://www.cisecurity.org/benchmark/amazon_web_services");
export const cisEks = framework("CIS Amazon EKS Benchmark", "1.5.0", "https://www.cisecurity.org/benchmark/kubernetes");
export const cisKubernetes = framework("CIS Kubernetes Benchmark", "1.9.0", "https://www.cisecurity.org/benchmark/kubernetes");
export const podSecurityStandards = framework("Kubernetes Pod Security Standards", "restricted (v1.33)", "https://kubernetes.io/docs/concepts/security/pod-security-standards/");
export const platform = framework("MLOps platform standards", "1", "policies/README.md");
