import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Toleration } from "../contracts";
import { recommendedLabels } from "./labels";
import { buildPodSpec, type ContainerSpec } from "./pod";

/**
 * A run-to-completion Job whose name carries a hash of what it does: a new image or spec is a new
 * Job (Pulumi replaces it and waits for it to complete), the same spec is left alone.
 */
export interface OneShotJobArgs {
  namespace: pulumi.Input<string>;
  /** Base name; the metadata name is `<name>-<hash>`. */
  name: string;
  app: string;
  component: string;
  version: string;
  /** What makes this run different from the last one (image, spec; never a secret). */
  fingerprint: unknown;
  container: ContainerSpec;
  serviceAccountName?: pulumi.Input<string>;
  /** The foundation's tolerations (every platform pod carries them). */
  tolerations?: Toleration[];
  activeDeadlineSeconds?: number;
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** How long Pulumi waits for a Job: its deadline plus five minutes to pull the image and schedule the pod. */
export function jobTimeouts(deadlineSeconds: number): pulumi.CustomTimeouts {
  const wait = `${Math.ceil(deadlineSeconds / 60) + 5}m`;
  return { create: wait, update: wait };
}

export function fingerprint(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 8);
}

export function jobPodLabels(args: Pick<OneShotJobArgs, "app" | "name" | "component" | "version">): Record<string, string> {
  return recommendedLabels({ name: args.app, instance: args.name, component: args.component, version: args.version });
}

export function createOneShotJob(parent: pulumi.Resource, args: OneShotJobArgs): k8s.batch.v1.Job {
  const labels = jobPodLabels(args);
  const deadlineSeconds = args.activeDeadlineSeconds ?? 900;
  return new k8s.batch.v1.Job(
    args.name,
    {
      metadata: { name: `${args.name}-${fingerprint(args.fingerprint)}`, namespace: args.namespace, labels },
      spec: {
        backoffLimit: 4,
        // A Job has no probes: the deadline is what stops a hung run.
        activeDeadlineSeconds: deadlineSeconds,
        template: {
          metadata: { labels },
          spec: buildPodSpec({ uid: args.container.uid, containers: [args.container], restartPolicy: "Never", serviceAccountName: args.serviceAccountName, tolerations: args.tolerations }),
        },
      },
    },
    // A Job's template is immutable: a changed run under the same name must delete the old Job first.
    // Pulumi waits 10 minutes by default; it waits as long as the Job may run, plus time to schedule it.
    { parent, dependsOn: args.dependsOn, deleteBeforeReplace: true, customTimeouts: jobTimeouts(deadlineSeconds) },
  );
}

/** The same pod as a CronJob, for reconciling what may change outside Pulumi (e.g. models registered later). */
export function createReconcileCronJob(
  parent: pulumi.Resource,
  args: Omit<OneShotJobArgs, "fingerprint"> & { schedule: string },
): k8s.batch.v1.CronJob {
  const labels = jobPodLabels(args);
  return new k8s.batch.v1.CronJob(
    args.name,
    {
      metadata: { name: args.name, namespace: args.namespace, labels },
      spec: {
        schedule: args.schedule,
        concurrencyPolicy: "Forbid",
        successfulJobsHistoryLimit: 1,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          metadata: { labels },
          spec: {
            backoffLimit: 1,
            activeDeadlineSeconds: args.activeDeadlineSeconds ?? 600,
            template: {
              metadata: { labels },
              spec: buildPodSpec({ uid: args.container.uid, containers: [args.container], restartPolicy: "Never", serviceAccountName: args.serviceAccountName, tolerations: args.tolerations }),
            },
          },
        },
      },
    },
    { parent, dependsOn: args.dependsOn },
  );
}

