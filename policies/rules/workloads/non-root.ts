import { resourceRule } from "../support/define";
import { podSecurityStandards } from "../support/frameworks";
import { describeContainer } from "../support/kubernetes";
import { forWorkloads } from "../support/workloads";

export const workloadsNonRoot = resourceRule(
  {
    name: "workloads-non-root",
    description:
      "No container runs as root: runAsNonRoot is true (on the container or the pod) and no user ID 0 is set, so the kubelet refuses an image whose user is root and a container escape does not start as root on the node.",
    severity: "high",
    framework: podSecurityStandards("Restricted: Running as Non-root; Running as Non-root user"),
    clouds: ["kubernetes"],
    enforcementLevel: "mandatory",
    remediationSteps: "Set securityContext.runAsNonRoot true (pod or container) and runAsUser to the image's numeric non-root user.",
  },
  forWorkloads((workload, _args, report) => {
    const pod = workload.podSpec?.securityContext ?? {};
    for (const ref of workload.containers) {
      const sc = ref.container.securityContext ?? {};
      if ((sc.runAsNonRoot ?? pod.runAsNonRoot) !== true) report(`${workload.label}: ${describeContainer(ref)} may run as root: set runAsNonRoot true`);
      if ((sc.runAsUser ?? pod.runAsUser) === 0) report(`${workload.label}: ${describeContainer(ref)} runs as user 0 (root)`);
    }
  }),
);
