import type { ResourceValidationArgs } from "@pulumi/policy";
import { resourceRule } from "../support/define";
import { cisKubernetes } from "../support/frameworks";
import { forWorkloads } from "../support/workloads";

/** The namespace an object lands in: its own, else the provider's default namespace, else "default". */
function effectiveNamespace(props: Record<string, any>, args: ResourceValidationArgs): string {
  return props.metadata?.namespace ?? args.provider?.props?.namespace ?? "default";
}

export const workloadsNoDefaultNamespace = resourceRule(
  {
    name: "workloads-no-default-namespace",
    description:
      "No workload runs in the default namespace (an object without a namespace lands there unless its provider sets one). Namespaces are where Pod Security admission, network policies, quotas and RBAC apply; the default namespace has none of the platform's.",
    severity: "low",
    framework: cisKubernetes("5.7.4 The default namespace should not be used"),
    clouds: ["kubernetes"],
    enforcementLevel: "advisory",
    remediationSteps: "Set metadata.namespace to the platform's namespace (mlops, monitoring) or give the Kubernetes provider a namespace.",
  },
  forWorkloads((workload, args, report) => {
    if (effectiveNamespace(workload.props, args) === "default") report(`${workload.label} runs in the default namespace: set metadata.namespace`);
  }),
);
