import type { PolicyResource } from "@pulumi/policy";
import { checkEach, stackRule } from "../support/define";
import { platform } from "../support/frameworks";
import { describeObject, labelSelectorMatches, podLabelsOf } from "../support/kubernetes";
import { K8S } from "../support/types";

/**
 * A workload that must run exactly one replica (it keeps state replicas would split, like a drift
 * detector's in-memory windows) says why in this annotation, and the rule leaves it be.
 */
export const SINGLETON_ANNOTATION = "mlops.io/singleton-reason";
const SCALABLE = [K8S.deployment, K8S.statefulSet];

/** minAvailable/maxUnavailable as a number of pods for `replicas` (percentages round as the disruption controller does). */
function pods(value: number | string, replicas: number, round: "up" | "down"): number {
  if (typeof value === "number") return value;
  const percent = /^(\d+)%$/.exec(value);
  if (!percent) return Number(value);
  const exact = (Number(percent[1]) / 100) * replicas;
  return round === "up" ? Math.ceil(exact) : Math.floor(exact);
}

function budgetProblem(pdb: PolicyResource, replicas: number): string | undefined {
  const spec = pdb.props.spec ?? {};
  if (spec.maxUnavailable !== undefined) {
    return pods(spec.maxUnavailable, replicas, "down") < 1 ? `allows no disruption (maxUnavailable ${spec.maxUnavailable}): node drains would hang` : undefined;
  }
  if (spec.minAvailable !== undefined) {
    const min = pods(spec.minAvailable, replicas, "up");
    return min >= replicas ? `requires ${min} of ${replicas} pods available (minAvailable ${spec.minAvailable}): node drains and upgrades would hang` : undefined;
  }
  return undefined;
}

export const workloadsReplicasAndPdb = stackRule(
  {
    name: "workloads-replicas-and-pdb",
    description:
      "In production every Deployment and StatefulSet runs at least minimumReplicas replicas (directly or through its HorizontalPodAutoscaler's minimum) and has a PodDisruptionBudget that selects its pods and still lets one pod go, so node drains, upgrades and a zone loss never take a service down and never hang. A workload that must be a singleton states why in the annotation mlops.io/singleton-reason.",
    severity: "high",
    framework: platform("Availability of production workloads"),
    clouds: ["kubernetes"],
    enforcementLevel: "advisory",
    configSchema: { properties: { minimumReplicas: { type: "integer", minimum: 1, default: 2 } } },
    remediationSteps:
      "Set replicas (or the HPA's minReplicas) to at least the minimum and add a policy/v1 PodDisruptionBudget selecting the pods with minAvailable below the replica count (e.g. 2 of 3), or annotate a true singleton with mlops.io/singleton-reason.",
  },
  (args, report) => {
    const { minimumReplicas } = args.getConfig<{ minimumReplicas: number }>();
    const pdbs = args.resources.filter((r) => r.type === K8S.pdb);
    const hpas = args.resources.filter((r) => r.type === K8S.hpa);
    checkEach(args.resources.filter((r) => SCALABLE.includes(r.type as never)), report, (workload, reportHere) => {
      const label = describeObject(workload.type, workload.props);
      if (String(workload.props.metadata?.annotations?.[SINGLETON_ANNOTATION] ?? "").trim().length >= 10) return;
      const name = workload.props.metadata?.name;
      const namespace = workload.props.metadata?.namespace ?? "default";
      const hpa = hpas.find((h) => (h.props.metadata?.namespace ?? "default") === namespace && h.props.spec?.scaleTargetRef?.name === name && h.props.spec?.scaleTargetRef?.kind === workload.type.split(":").pop());
      const replicas = Number(hpa ? (hpa.props.spec?.minReplicas ?? 1) : (workload.props.spec?.replicas ?? 1));
      if (replicas < minimumReplicas) reportHere(`${label} runs ${replicas} replica(s)${hpa ? " at its HPA's minimum" : ""}; at least ${minimumReplicas} required (or state why it is a singleton in ${SINGLETON_ANNOTATION})`);
      const labels = podLabelsOf(workload.type, workload.props);
      const selecting = pdbs.filter((p) => (p.props.metadata?.namespace ?? "default") === namespace && labelSelectorMatches(p.props.spec?.selector, labels));
      if (selecting.length === 0) {
        reportHere(`${label} has no PodDisruptionBudget selecting its pods: a node drain may evict them all at once`);
        return;
      }
      for (const pdb of selecting) {
        const problem = budgetProblem(pdb, replicas);
        if (problem) reportHere(`the PodDisruptionBudget "${pdb.props.metadata?.name}" of ${label} ${problem}`);
      }
    });
  },
);
