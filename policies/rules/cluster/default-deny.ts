import type { PolicyResource } from "@pulumi/policy";
import { stackRule } from "../support/define";
import { cisKubernetes } from "../support/frameworks";
import { isEmptySelector } from "../support/kubernetes";
import { K8S, WORKLOAD_TYPES } from "../support/types";

/** Whether a NetworkPolicy denies the given direction to every pod of its namespace. */
function deniesAll(policy: PolicyResource, direction: "Ingress" | "Egress"): boolean {
  const spec = policy.props.spec ?? {};
  if (!isEmptySelector(spec.podSelector)) return false;
  // Without policyTypes, a policy covers Ingress, and Egress only when it has egress rules.
  const types: string[] = spec.policyTypes ?? (spec.egress ? ["Ingress", "Egress"] : ["Ingress"]);
  const rules = direction === "Ingress" ? spec.ingress : spec.egress;
  return types.includes(direction) && (rules ?? []).length === 0;
}

export const clusterDefaultDeny = stackRule(
  {
    name: "cluster-default-deny",
    description:
      "Every namespace that runs workloads (declared ones or a Helm release's) has default-deny NetworkPolicies for ingress and egress (an empty pod selector and no rules), so only the flows allowed explicitly exist and a compromised pod cannot reach the database, the registry or the cloud metadata service.",
    severity: "high",
    framework: cisKubernetes("5.3.2 Ensure that all Namespaces have Network Policies defined"),
    clouds: ["kubernetes"],
    enforcementLevel: "mandatory",
    remediationSteps:
      "Add a NetworkPolicy in the namespace with podSelector {} and policyTypes [\"Ingress\", \"Egress\"] and no rules, then one allow policy per needed flow (DNS included).",
  },
  (args, report) => {
    const policies = args.resources.filter((r) => r.type === K8S.networkPolicy);
    const namespaces = new Map<string, string>();
    for (const w of args.resources.filter((r) => WORKLOAD_TYPES.includes(r.type))) namespaces.set(w.props.metadata?.namespace ?? "default", w.urn);
    for (const release of args.resources.filter((r) => r.type === K8S.helmRelease)) namespaces.set(release.props.namespace ?? "default", release.urn);
    for (const [namespace, urn] of namespaces) {
      const inNamespace = policies.filter((p) => (p.props.metadata?.namespace ?? "default") === namespace);
      const missing = (["Ingress", "Egress"] as const).filter((d) => !inNamespace.some((p) => deniesAll(p, d)));
      if (missing.length) report(`namespace "${namespace}" runs workloads without a default-deny ${missing.join(" and ")} NetworkPolicy (podSelector {}, no rules)`, urn);
    }
  },
);
