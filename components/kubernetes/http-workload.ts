import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Toleration } from "../contracts";
import { PORTS, UIDS } from "./constants";
import { recommendedLabels, selectorLabels } from "./labels";
import { buildPodSpec, httpProbe, type ResourceSpec, type WritablePath } from "./pod";
import { createServiceMonitor, type ServiceMonitorArgs } from "./service-monitor";

type EnvVar = k8s.types.input.core.v1.EnvVar;

/** pulumi-kubernetes: create or update the object and move on without waiting for it to become ready. */
export const SKIP_AWAIT_ANNOTATION = "pulumi.com/skipAwait";

/** The shape every service of ours shares: API on 8080, metrics on 9090, /health/live and /health/ready. */
export interface HttpWorkloadArgs {
  namespace: pulumi.Input<string>;
  /** Instance name: Deployment, Service and DNS name (`serving-fraud-detector`). */
  name: string;
  /** Application name (`serving`, `drift`, `monitor`), the image's name. */
  app: string;
  component: string;
  image: string;
  /** The image tag, for the version label. */
  version: string;
  replicas: number;
  resources: ResourceSpec;
  env: pulumi.Input<EnvVar>[];
  /** Extra labels on every object and pod, e.g. the model a workload belongs to. */
  extraLabels?: Record<string, string>;
  /** Annotations of the Deployment itself. */
  annotations?: Record<string, string>;
  writablePaths?: WritablePath[];
  /**
   * Secrets mounted read-only as directories (never with subPath, so a rotated Secret reaches the
   * running pod): credentials a service reads from a file, such as serving's API keys.
   */
  secretFiles?: SecretFiles[];
  /** Ports besides `http` and `metrics`, on the container and the Service (the monitor's Alertmanager receiver). */
  extraPorts?: { name: string; port: number }[];
  /** Allowance for a slow start (model download): failureThreshold x 5 s before liveness applies. */
  startupFailureThreshold?: number;
  /** Seconds to finish in-flight work after SIGTERM (the services drain and flush their queues). */
  terminationGracePeriodSeconds?: number;
  /**
   * The HPA owns the replica count; it is created after `metricsReady` (what serves the resource
   * metrics API), so it never starts with FailedGetResourceMetric.
   */
  autoscaling?: { minReplicas: number; maxReplicas: number; cpuUtilization: number; metricsReady: pulumi.Input<pulumi.Resource>[] };
  /**
   * Pulumi does not wait for the pods to become ready: for workloads whose readiness depends on
   * something a person does after the deploy (registering a model version). An alert covers them instead.
   */
  readinessAfterDeploy?: boolean;
  podDisruptionBudget?: { minAvailable: number };
  /** The foundation's tolerations (every platform pod carries them). */
  tolerations?: Toleration[];
  serviceMonitor: Pick<ServiceMonitorArgs, "component" | "model"> & { dependsOn: pulumi.Input<pulumi.Resource>[] };
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** A Secret mounted as a read-only directory: each key is a file under `mountPath`. */
export interface SecretFiles {
  /** Volume name in the pod. */
  name: string;
  secretName: pulumi.Input<string>;
  mountPath: string;
}

/** Owner and group (the pod's fsGroup) may read; nobody may write or execute. */
const SECRET_FILE_MODE = 0o440;

export interface HttpWorkload {
  deployment: k8s.apps.v1.Deployment;
  service: k8s.core.v1.Service;
  serviceMonitor: k8s.apiextensions.CustomResource;
  autoscaler?: k8s.autoscaling.v2.HorizontalPodAutoscaler;
  disruptionBudget?: k8s.policy.v1.PodDisruptionBudget;
}

export function createHttpWorkload(parent: pulumi.Resource, args: HttpWorkloadArgs): HttpWorkload {
  const labels = { ...recommendedLabels({ name: args.app, instance: args.name, component: args.component, version: args.version }), ...(args.extraLabels ?? {}) };
  const selector = selectorLabels({ name: args.app, instance: args.name });
  const opts = { parent };
  const extraPorts = args.extraPorts ?? [];
  const secretFiles = args.secretFiles ?? [];
  const podSpec = buildPodSpec({
    uid: UIDS.node,
    terminationGracePeriodSeconds: args.terminationGracePeriodSeconds ?? 30,
    spreadSelector: args.replicas > 1 || (args.autoscaling?.maxReplicas ?? 1) > 1 ? selector : undefined,
    tolerations: args.tolerations,
    containers: [
      {
        name: args.app,
        image: args.image,
        uid: UIDS.node,
        env: [
          { name: "PORT", value: String(PORTS.api) },
          { name: "METRICS_PORT", value: String(PORTS.metrics) },
          { name: "LOG_LEVEL", value: "info" },
          ...args.env,
        ],
        ports: [
          { name: "http", containerPort: PORTS.api },
          { name: "metrics", containerPort: PORTS.metrics },
          ...extraPorts.map((p) => ({ name: p.name, containerPort: p.port })),
        ],
        resources: args.resources,
        probes: {
          liveness: httpProbe("/health/live", "http", { failureThreshold: 3 }),
          readiness: httpProbe("/health/ready", "http", { periodSeconds: 5, failureThreshold: 2 }),
          startup: httpProbe("/health/live", "http", { periodSeconds: 5, failureThreshold: args.startupFailureThreshold ?? 12 }),
        },
        writablePaths: [{ name: "tmp", mountPath: "/tmp", sizeLimit: "256Mi" }, ...(args.writablePaths ?? [])],
        readOnlyMounts: secretFiles.length ? secretFiles.map((f) => ({ name: f.name, mountPath: f.mountPath })) : undefined,
        // Endpoints controllers need a moment to stop routing here before the process drains.
        preStopSleepSeconds: 5,
      },
    ],
    extraVolumes: secretFiles.length ? secretFiles.map((f) => ({ name: f.name, secret: { secretName: f.secretName, defaultMode: SECRET_FILE_MODE } })) : undefined,
  });

  const annotations = { ...(args.annotations ?? {}), ...(args.readinessAfterDeploy ? { [SKIP_AWAIT_ANNOTATION]: "true" } : {}) };
  const deployment = new k8s.apps.v1.Deployment(
    args.name,
    {
      metadata: { name: args.name, namespace: args.namespace, labels, annotations: Object.keys(annotations).length ? annotations : undefined },
      spec: {
        // Under server-side apply a replica count in the manifest is a field Pulumi owns, and an update
        // would set it back over the HPA's: with an HPA the manifest leaves it out (the API server starts at 1).
        replicas: args.autoscaling ? undefined : args.replicas,
        revisionHistoryLimit: 5,
        selector: { matchLabels: selector },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template: { metadata: { labels }, spec: podSpec },
      },
    },
    { ...opts, dependsOn: args.dependsOn },
  );

  const service = new k8s.core.v1.Service(
    `${args.name}-service`,
    {
      metadata: { name: args.name, namespace: args.namespace, labels },
      spec: {
        type: "ClusterIP",
        selector,
        ports: [
          { name: "http", port: PORTS.api, targetPort: "http", protocol: "TCP" },
          { name: "metrics", port: PORTS.metrics, targetPort: "metrics", protocol: "TCP" },
          ...extraPorts.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: "TCP" })),
        ],
      },
    },
    opts,
  );

  const serviceMonitor = createServiceMonitor(
    { name: args.name, namespace: args.namespace, labels, selector, port: "metrics", component: args.serviceMonitor.component, model: args.serviceMonitor.model },
    { ...opts, dependsOn: args.serviceMonitor.dependsOn },
  );

  const autoscaler = args.autoscaling
    ? new k8s.autoscaling.v2.HorizontalPodAutoscaler(
        `${args.name}-hpa`,
        {
          metadata: { name: args.name, namespace: args.namespace, labels },
          spec: {
            scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name },
            minReplicas: args.autoscaling.minReplicas,
            maxReplicas: args.autoscaling.maxReplicas,
            metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: args.autoscaling.cpuUtilization } } }],
            // Scale down slowly: a burst of traffic often comes back.
            behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
          },
        },
        { ...opts, dependsOn: args.autoscaling.metricsReady },
      )
    : undefined;

  const disruptionBudget = args.podDisruptionBudget
    ? new k8s.policy.v1.PodDisruptionBudget(
        `${args.name}-pdb`,
        { metadata: { name: args.name, namespace: args.namespace, labels }, spec: { minAvailable: args.podDisruptionBudget.minAvailable, selector: { matchLabels: selector } } },
        opts,
      )
    : undefined;

  return { deployment, service, serviceMonitor, autoscaler, disruptionBudget };
}

/** An env var read from a key of a Secret (never a literal value). */
export function secretEnv(name: string, secretName: pulumi.Input<string>, key: string): EnvVar {
  return { name, valueFrom: { secretKeyRef: { name: secretName, key } } };
}
