import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { Toleration } from "../contracts";

type Container = k8s.types.input.core.v1.Container;
type EnvVar = k8s.types.input.core.v1.EnvVar;
type Probe = k8s.types.input.core.v1.Probe;
type PodSpec = k8s.types.input.core.v1.PodSpec;
type Volume = k8s.types.input.core.v1.Volume;

/** Requests and limits of one container (Kubernetes quantities). */
export interface ResourceSpec {
  cpuRequest: string;
  memoryRequest: string;
  cpuLimit: string;
  memoryLimit: string;
}

/** A directory the process must write to; it becomes an emptyDir, the root filesystem stays read-only. */
export interface WritablePath {
  name: string;
  mountPath: string;
  sizeLimit?: string;
}

export interface ContainerSpec {
  name: string;
  image: string;
  /** The image's non-root user; the pod refuses to start as root anyway (runAsNonRoot). */
  uid: number;
  command?: string[];
  args?: pulumi.Input<string>[];
  env?: pulumi.Input<EnvVar>[];
  ports?: { name: string; containerPort: number }[];
  resources: ResourceSpec;
  /** Long-running containers only: Kubernetes forbids probes on init containers, and a Job has a deadline instead. */
  probes?: { liveness: Probe; readiness: Probe; startup?: Probe };
  writablePaths?: WritablePath[];
  /** Read-only mounts of Secrets or ConfigMaps declared in `volumes` of the pod. */
  readOnlyMounts?: { name: string; mountPath: string }[];
  /** Writable mounts of volumes declared in the pod's `extraVolumes` (a PersistentVolumeClaim, for instance). */
  volumeMounts?: { name: string; mountPath: string }[];
  /** Seconds the container waits after being told to stop, so endpoints stop sending before SIGTERM. */
  preStopSleepSeconds?: number;
}

/** The restricted Pod Security Standard, container level: every container of the platform gets exactly this. */
export function containerSecurityContext(uid: number): k8s.types.input.core.v1.SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

export function podSecurityContext(uid: number): k8s.types.input.core.v1.PodSecurityContext {
  return { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid, seccompProfile: { type: "RuntimeDefault" } };
}

export function httpProbe(path: string, port: string, overrides: Partial<Probe> = {}): Probe {
  return { httpGet: { path, port }, periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 3, ...overrides };
}

/** A container with the platform's baseline, plus the emptyDir volumes its writable paths need. */
export function buildContainer(spec: ContainerSpec): { container: Container; volumes: Volume[] } {
  const writable = spec.writablePaths ?? [];
  const container: Container = {
    name: spec.name,
    image: spec.image,
    imagePullPolicy: "IfNotPresent",
    command: spec.command,
    args: spec.args,
    env: spec.env,
    ports: spec.ports?.map((p) => ({ name: p.name, containerPort: p.containerPort, protocol: "TCP" })),
    resources: {
      requests: { cpu: spec.resources.cpuRequest, memory: spec.resources.memoryRequest },
      limits: { cpu: spec.resources.cpuLimit, memory: spec.resources.memoryLimit },
    },
    livenessProbe: spec.probes?.liveness,
    readinessProbe: spec.probes?.readiness,
    startupProbe: spec.probes?.startup,
    securityContext: containerSecurityContext(spec.uid),
    volumeMounts: [
      ...writable.map((w) => ({ name: w.name, mountPath: w.mountPath })),
      ...(spec.readOnlyMounts ?? []).map((m) => ({ ...m, readOnly: true })),
      ...(spec.volumeMounts ?? []).map((m) => ({ name: m.name, mountPath: m.mountPath })),
    ],
    lifecycle: spec.preStopSleepSeconds ? { preStop: { sleep: { seconds: spec.preStopSleepSeconds } } } : undefined,
    terminationMessagePolicy: "FallbackToLogsOnError",
  };
  const volumes: Volume[] = writable.map((w) => ({ name: w.name, emptyDir: { sizeLimit: w.sizeLimit ?? "256Mi" } }));
  return { container, volumes };
}

export interface PodArgs {
  uid: number;
  containers: ContainerSpec[];
  serviceAccountName?: pulumi.Input<string>;
  extraVolumes?: Volume[];
  restartPolicy?: "Always" | "OnFailure" | "Never";
  terminationGracePeriodSeconds?: number;
  /** Spread replicas over zones and nodes (best effort), for workloads that run more than one. */
  spreadSelector?: Record<string, string>;
  /** The foundation's tolerations (`Foundation.scheduling`), for node pools it taints; none: the field is left out. */
  tolerations?: Toleration[];
}

/** A pod spec that never mounts the API token (no workload of ours talks to the API server). */
export function buildPodSpec(args: PodArgs): PodSpec {
  const built = args.containers.map(buildContainer);
  const spread = args.spreadSelector
    ? ["topology.kubernetes.io/zone", "kubernetes.io/hostname"].map((topologyKey) => ({
        maxSkew: 1,
        topologyKey,
        whenUnsatisfiable: "ScheduleAnyway",
        labelSelector: { matchLabels: args.spreadSelector },
      }))
    : undefined;
  return {
    serviceAccountName: args.serviceAccountName,
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: podSecurityContext(args.uid),
    containers: built.map((b) => b.container),
    volumes: [...built.flatMap((b) => b.volumes), ...(args.extraVolumes ?? [])],
    restartPolicy: args.restartPolicy,
    terminationGracePeriodSeconds: args.terminationGracePeriodSeconds,
    topologySpreadConstraints: spread,
    tolerations: args.tolerations?.length ? args.tolerations.map((t) => ({ ...t })) : undefined,
  };
}
