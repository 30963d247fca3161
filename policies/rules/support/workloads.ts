import * as k8s from "@pulumi/kubernetes";
import { validateResourceOfType, type ResourceValidation, type ResourceValidationArgs } from "@pulumi/policy";
import { containersOf, describeObject, podSpecOf, podTemplateOf, type ContainerRef } from "./kubernetes";

type Obj = Record<string, any>;

/** A workload as the workload rules see it: the object, its pod template and every container. */
export interface Workload {
  type: string;
  props: Obj;
  /** `Deployment "mlops/serving-fraud"`. */
  label: string;
  template: { metadata?: Obj; spec?: Obj } | undefined;
  podSpec: Obj | undefined;
  containers: ContainerRef[];
}

export function toWorkload(type: string, props: Obj): Workload {
  const podSpec = podSpecOf(type, props);
  return { type, props, label: describeObject(type, props), template: podTemplateOf(type, props), podSpec, containers: containersOf(podSpec) };
}

const ALL_KINDS = [k8s.apps.v1.Deployment, k8s.apps.v1.StatefulSet, k8s.apps.v1.DaemonSet, k8s.apps.v1.ReplicaSet, k8s.batch.v1.Job, k8s.batch.v1.CronJob, k8s.core.v1.Pod];
/** Kinds whose pods run until stopped: probes apply to them, not to Jobs. */
const LONG_RUNNING_KINDS = [k8s.apps.v1.Deployment, k8s.apps.v1.StatefulSet, k8s.apps.v1.DaemonSet, k8s.apps.v1.ReplicaSet, k8s.core.v1.Pod];

type Check = (workload: Workload, args: ResourceValidationArgs, report: (message: string) => void) => void;

/** One validateResourceOfType per workload kind, all running the same check on the pod spec. */
export function forWorkloads(check: Check, options: { longRunningOnly?: boolean } = {}): ResourceValidation[] {
  const kinds = options.longRunningOnly ? LONG_RUNNING_KINDS : ALL_KINDS;
  return kinds.map((kind) =>
    validateResourceOfType(kind as unknown as { new (name: string, args: Obj): k8s.apps.v1.Deployment }, (props, args, report) => check(toWorkload(args.type, props as Obj), args, report)),
  );
}
