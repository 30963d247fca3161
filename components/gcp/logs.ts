import * as logging from "@pulumi/gcp/logging";
import * as pulumi from "@pulumi/pulumi";

export interface ClusterLogsArgs {
  project: string;
  /** The log bucket's location: the cluster's region (logs stay where the cluster runs). */
  region: string;
  clusterName: string;
  retentionDays: number;
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** The GKE resource types whose logs the cluster writes (containers, pods, nodes, the cluster and its control plane). */
export const CLUSTER_LOG_RESOURCE_TYPES = ["k8s_container", "k8s_pod", "k8s_node", "k8s_cluster", "k8s_control_plane_component"];

/**
 * GKE ships container, system and API server logs to Cloud Logging by itself (the cluster's
 * `loggingConfig`: SYSTEM_COMPONENTS, APISERVER, WORKLOADS). What the platform adds is where they are
 * kept and for how long: a log bucket of the stack in the cluster's region with the profile's
 * retention, a sink routing the cluster's logs to it, and an exclusion so the project's `_Default`
 * bucket (30 days, shared with everything else in the project) does not store them a second time.
 * Audit logs stay in `_Required` (400 days, which nothing can shorten).
 */
export class ClusterLogs extends pulumi.ComponentResource {
  readonly bucketId: string;
  /** `projects/<project>/locations/<region>/buckets/<id>`: where to read the logs. */
  readonly bucketPath: string;

  constructor(name: string, args: ClusterLogsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:gcp:ClusterLogs", name, {}, opts);
    const parent = { parent: this };
    this.bucketId = logBucketId(args.clusterName);
    this.bucketPath = `projects/${args.project}/locations/${args.region}/buckets/${this.bucketId}`;
    const bucket = new logging.ProjectBucketConfig(
      `${name}-bucket`,
      {
        project: args.project,
        location: args.region,
        bucketId: this.bucketId,
        retentionDays: args.retentionDays,
        description: `Logs of the GKE cluster ${args.clusterName} (containers, nodes, control plane), kept ${args.retentionDays} days`,
      },
      { parent: this, dependsOn: args.dependsOn },
    );
    const filter = clusterLogFilter(args.clusterName);
    // A log bucket of the same project needs no grant for the sink's writer identity.
    const sink = new logging.ProjectSink(
      `${name}-sink`,
      { project: args.project, name: `${args.clusterName}-logs`, destination: pulumi.interpolate`logging.googleapis.com/${this.bucketPath}`, filter, uniqueWriterIdentity: true, description: "The cluster's logs to its own bucket" },
      { ...parent, dependsOn: [bucket] },
    );
    // Only once the sink routes them: the cluster's logs are never dropped on the way.
    new logging.ProjectExclusion(
      `${name}-not-in-default`,
      { project: args.project, name: `${args.clusterName}-logs-not-in-default`, filter, description: `Stored in ${this.bucketId} (the sink ${args.clusterName}-logs) instead of _Default` },
      { ...parent, dependsOn: [sink] },
    );
    this.registerOutputs({ bucket: this.bucketPath });
  }
}

/** 3-100 characters of letters, digits, `_` and `-`: the cluster's name with `-logs`. */
export function logBucketId(clusterName: string): string {
  return `${clusterName}-logs`.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 100);
}

/** The cluster's logs, by resource type and cluster name. */
export function clusterLogFilter(clusterName: string): string {
  return `resource.type=(${CLUSTER_LOG_RESOURCE_TYPES.map((t) => `"${t}"`).join(" OR ")}) AND resource.labels.cluster_name="${clusterName}"`;
}
