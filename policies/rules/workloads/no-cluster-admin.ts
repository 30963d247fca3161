import type { PolicyResource } from "@pulumi/policy";
import { checkEach, stackRule } from "../support/define";
import { cisKubernetes } from "../support/frameworks";
import { describeObject } from "../support/kubernetes";
import { K8S } from "../support/types";

const all = (list: string[] | undefined) => (list ?? []).includes("*");

/** A ClusterRole of the stack that grants every verb on every resource is cluster-admin by another name. */
function adminEquivalents(resources: PolicyResource[]): Set<string> {
  const names = new Set(["cluster-admin"]);
  for (const role of resources.filter((r) => r.type === K8S.clusterRole)) {
    const rules: any[] = role.props.rules ?? [];
    if (rules.some((r) => all(r.verbs) && all(r.resources) && all(r.apiGroups))) names.add(role.props.metadata?.name);
  }
  return names;
}

function workloadSubjects(subjects: any[] | undefined): string[] {
  return (subjects ?? [])
    .filter((s) => s.kind === "ServiceAccount" || (s.kind === "Group" && String(s.name).startsWith("system:serviceaccounts")))
    .map((s) => (s.kind === "ServiceAccount" ? `service account ${s.namespace ? `${s.namespace}/` : ""}${s.name}` : `group ${s.name}`));
}

export const workloadsNoClusterAdmin = stackRule(
  {
    name: "workloads-no-cluster-admin",
    description:
      "No workload identity is bound to cluster-admin (or to a ClusterRole granting every verb on every resource), through a ClusterRoleBinding or a RoleBinding: a compromised pod, such as a model server running untrusted model code, must not own the cluster. Workloads get Roles with the verbs they need; people get admin through the cloud's access entries.",
    severity: "critical",
    framework: cisKubernetes("5.1.1 Ensure that the cluster-admin role is only used where required"),
    clouds: ["kubernetes"],
    enforcementLevel: "mandatory",
    remediationSteps: "Replace the binding with a Role (or ClusterRole) listing only the resources and verbs the service account needs; most of the platform's workloads need none (automountServiceAccountToken false).",
  },
  (args, report) => {
    const admin = adminEquivalents(args.resources);
    const bindings = args.resources.filter((r) => r.type === K8S.clusterRoleBinding || r.type === K8S.roleBinding);
    checkEach(bindings, report, (binding, reportHere) => {
      const role = binding.props.roleRef;
      if (role?.kind !== "ClusterRole" || !admin.has(role.name)) return;
      for (const subject of workloadSubjects(binding.props.subjects)) {
        reportHere(`${describeObject(binding.type, binding.props)} gives ${subject} the ClusterRole "${role.name}" (full control of the cluster): grant a Role with only the verbs it needs`);
      }
    });
  },
);
