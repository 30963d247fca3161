import * as pulumi from "@pulumi/pulumi";
import type { WorkloadIdentity } from "../contracts";

/**
 * The Foundation's `mlflowIdentity` on every cloud: the service account the cloud's identity trusts,
 * the annotation that names that identity, and the pod labels the cloud's webhook needs (Azure).
 */
export function serviceAccountIdentity(
  serviceAccount: { namespace: string; name: string },
  annotations: pulumi.Output<Record<string, string>>,
  podLabels: Record<string, string> = {},
): WorkloadIdentity {
  return {
    namespace: serviceAccount.namespace,
    serviceAccountName: serviceAccount.name,
    serviceAccountAnnotations: annotations,
    podLabels: pulumi.output(podLabels),
  };
}
