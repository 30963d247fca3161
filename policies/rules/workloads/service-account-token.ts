import { resourceRule } from "../support/define";
import { cisKubernetes } from "../support/frameworks";
import { forWorkloads } from "../support/workloads";

/** A workload that talks to the Kubernetes API says why here, and keeps its token. */
export const API_ACCESS_ANNOTATION = "mlops.io/kubernetes-api-reason";

export const workloadsServiceAccountToken = resourceRule(
  {
    name: "workloads-service-account-token",
    description:
      "Pods do not mount a Kubernetes API token unless they use the API: automountServiceAccountToken is false on the pod spec. None of the platform's services calls the Kubernetes API, so a token in their pods would only serve an attacker. A workload that needs the API states why in the annotation mlops.io/kubernetes-api-reason.",
    severity: "medium",
    framework: cisKubernetes("5.1.6 Ensure that Service Account Tokens are only mounted where necessary"),
    clouds: ["kubernetes"],
    enforcementLevel: "advisory",
    remediationSteps: "Set spec.automountServiceAccountToken false in the pod template, or annotate the workload with mlops.io/kubernetes-api-reason and bind a narrow Role.",
  },
  forWorkloads((workload, _args, report) => {
    const reason = workload.props.metadata?.annotations?.[API_ACCESS_ANNOTATION];
    if (String(reason ?? "").trim().length >= 10) return;
    if (workload.podSpec?.automountServiceAccountToken !== false) report(`${workload.label} mounts a Kubernetes API token it does not use: set automountServiceAccountToken false (or state why it needs the API in ${API_ACCESS_ANNOTATION})`);
  }),
);
