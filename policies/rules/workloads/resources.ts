import { resourceRule } from "../support/define";
import { cisKubernetes } from "../support/frameworks";
import { describeContainer } from "../support/kubernetes";
import { forWorkloads } from "../support/workloads";

const REQUIRED = [
  ["requests", "cpu"],
  ["requests", "memory"],
  ["limits", "cpu"],
  ["limits", "memory"],
] as const;

export const workloadsResources = resourceRule(
  {
    name: "workloads-resources",
    description:
      "Every container, init containers included, declares CPU and memory requests and limits, so the scheduler places it on a node with room, the HPA has a utilization to compute, and a runaway process (a model too big for its pod) is throttled or killed instead of starving its neighbours.",
    severity: "medium",
    framework: cisKubernetes("5.7 General policies: resource requests and limits (LimitRange/ResourceQuota equivalent)"),
    clouds: ["kubernetes"],
    enforcementLevel: "mandatory",
    remediationSteps: "Set resources.requests.cpu, resources.requests.memory, resources.limits.cpu and resources.limits.memory on every container.",
  },
  forWorkloads((workload, _args, report) => {
    for (const ref of workload.containers) {
      const missing = REQUIRED.filter(([kind, res]) => ref.container.resources?.[kind]?.[res] === undefined).map(([kind, res]) => `${kind}.${res}`);
      if (missing.length) report(`${workload.label}: ${describeContainer(ref)} has no ${missing.join(", ")}`);
    }
  }),
);
