import { resourceRule } from "../support/define";
import { platform } from "../support/frameworks";
import { describeContainer } from "../support/kubernetes";
import { forWorkloads } from "../support/workloads";

export const workloadsProbes = resourceRule(
  {
    name: "workloads-probes",
    description:
      "Every container of a long-running workload has a liveness and a readiness probe, so Kubernetes restarts a hung process and sends traffic only to pods that have loaded their model. Jobs and init containers run to completion and need none.",
    severity: "medium",
    framework: platform("Health probes on long-running workloads"),
    clouds: ["kubernetes"],
    enforcementLevel: "mandatory",
    remediationSteps: "Add livenessProbe (e.g. GET /health/live) and readinessProbe (GET /health/ready) to every container; a startupProbe covers slow model loading.",
  },
  forWorkloads(
    (workload, _args, report) => {
      for (const ref of workload.containers.filter((c) => c.kind === "container")) {
        const missing = ["livenessProbe", "readinessProbe"].filter((p) => !ref.container[p]);
        if (missing.length) report(`${workload.label}: ${describeContainer(ref)} has no ${missing.join(" or ")}`);
      }
    },
    { longRunningOnly: true },
  ),
);
