import { resourceRule } from "../support/define";
import { cisKubernetes } from "../support/frameworks";
import { describeContainer } from "../support/kubernetes";
import { forWorkloads } from "../support/workloads";

export const workloadsReadOnlyRootFilesystem = resourceRule(
  {
    name: "workloads-read-only-root-filesystem",
    description:
      "Containers run with a read-only root filesystem; the paths a process must write (/tmp, a model cache) are emptyDir volumes. An attacker cannot drop tools into the image, and a container's disk use is bounded by its volumes' size limits.",
    severity: "medium",
    framework: cisKubernetes("5.7.3 Apply Security Context to Your Pods and Containers (readOnlyRootFilesystem)"),
    clouds: ["kubernetes"],
    enforcementLevel: "mandatory",
    remediationSteps: "Set securityContext.readOnlyRootFilesystem true on every container and mount an emptyDir (with sizeLimit) at each writable path.",
  },
  forWorkloads((workload, _args, report) => {
    for (const ref of workload.containers) {
      if (ref.container.securityContext?.readOnlyRootFilesystem !== true) report(`${workload.label}: ${describeContainer(ref)} has a writable root filesystem: set readOnlyRootFilesystem true`);
    }
  }),
);
