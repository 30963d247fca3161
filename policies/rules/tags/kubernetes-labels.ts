import type { ResourceValidationArgs } from "@pulumi/policy";
import { resourceRule } from "../support/define";
import { platform } from "../support/frameworks";
import { describeObject, podTemplateOf } from "../support/kubernetes";
import { K8S, WORKLOAD_TYPES } from "../support/types";

interface Params {
  requiredLabels: string[];
  managedBy: string;
}

/** Objects that carry no metadata of their own (Helm releases, chart components) are someone else's to label. */
function isLabelledObject(args: ResourceValidationArgs): boolean {
  return args.type.startsWith("kubernetes:") && !args.type.startsWith("kubernetes:helm.sh/") && !args.type.startsWith("kubernetes:yaml/") && !args.type.endsWith("Patch") && typeof args.props.metadata === "object";
}

export const tagsKubernetesLabels = resourceRule(
  {
    name: "tags-kubernetes-labels",
    description:
      "Every Kubernetes object the program declares, and the pod template of every workload, carries the app.kubernetes.io recommended labels (name, instance, component, part-of, managed-by=pulumi). Selectors, network policies, dashboards, the ML rules of this pack and `kubectl get -l` all find things through them.",
    severity: "low",
    framework: platform("Kubernetes recommended labels"),
    clouds: ["kubernetes"],
    enforcementLevel: "advisory",
    configSchema: {
      properties: {
        requiredLabels: {
          type: "array",
          items: { type: "string" },
          default: ["app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component", "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by"],
        },
        managedBy: { type: "string", default: "pulumi" },
      },
    },
    remediationSteps: "Build metadata.labels (and pod template labels) with components/kubernetes/labels.ts recommendedLabels().",
  },
  [
    (args, report) => {
      if (!isLabelledObject(args)) return args.notApplicable("not a Kubernetes object with metadata");
      const { requiredLabels, managedBy } = args.getConfig<Params>();
      const label = describeObject(args.type, args.props);
      const check = (labels: Record<string, string> | undefined, where: string) => {
        const missing = requiredLabels.filter((l) => !labels?.[l]);
        if (missing.length) report(`${label}${where} lacks the labels ${missing.join(", ")}`);
        const by = labels?.["app.kubernetes.io/managed-by"];
        if (by && by !== managedBy) report(`${label}${where} has app.kubernetes.io/managed-by "${by}", expected "${managedBy}"`);
      };
      check(args.props.metadata?.labels, "");
      if (WORKLOAD_TYPES.includes(args.type) && args.type !== K8S.pod) check(podTemplateOf(args.type, args.props)?.metadata?.labels, "'s pod template");
    },
  ],
);
