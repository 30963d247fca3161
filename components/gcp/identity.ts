import * as projects from "@pulumi/gcp/projects";
import * as serviceaccount from "@pulumi/gcp/serviceaccount";
import * as storage from "@pulumi/gcp/storage";
import * as pulumi from "@pulumi/pulumi";

/** What GKE nodes need to run: write logs and metrics, read the metadata the agents report. Nothing else project-wide. */
export const NODE_PROJECT_ROLES = ["roles/logging.logWriter", "roles/monitoring.metricWriter", "roles/monitoring.viewer", "roles/stackdriver.resourceMetadata.writer"];
/** Pulling images: granted on the platform's Artifact Registry repository only (registry.ts). */
export const NODE_REGISTRY_ROLE = "roles/artifactregistry.reader";
export const WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser";
export const MLFLOW_BUCKET_ROLE = "roles/storage.objectAdmin";

/**
 * A service account id (6-30 characters, a lower-case letter first, letters, digits and `-`, no `-`
 * last) from a base name and a suffix; the base is shortened so the suffix always survives.
 */
export function serviceAccountId(base: string, suffix: string): string {
  const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9-]/g, "-");
  const tail = `-${clean(suffix)}`;
  let head = clean(base).replace(/^[^a-z]+/, "").slice(0, 30 - tail.length).replace(/-+$/, "");
  if (!head) head = "mlops";
  const id = `${head}${tail}`.replace(/-+$/, "");
  if (!/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(id)) throw new Error(`cannot make a service account id from "${base}" and "${suffix}" (got "${id}")`);
  return id;
}

/** The Kubernetes service account `namespace/name` as a Workload Identity principal of the project's pool. */
export function workloadIdentityMember(project: string, namespace: string, name: string): string {
  return `serviceAccount:${project}.svc.id.goog[${namespace}/${name}]`;
}

export interface NodeServiceAccountArgs {
  project: string;
  accountId: string;
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** The nodes' own service account (never the Compute Engine default one, which often holds Editor). */
export class NodeServiceAccount extends pulumi.ComponentResource {
  readonly email: pulumi.Output<string>;
  readonly member: pulumi.Output<string>;
  /** The project role grants: the node pool waits for them, or nodes start unable to log. */
  readonly grants: projects.IAMMember[];

  constructor(name: string, args: NodeServiceAccountArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:gcp:NodeServiceAccount", name, {}, opts);
    const account = new serviceaccount.Account(
      `${name}-sa`,
      { project: args.project, accountId: args.accountId, displayName: "GKE nodes of the MLOps platform (least privilege)" },
      { parent: this, dependsOn: args.dependsOn },
    );
    this.email = account.email;
    this.member = account.member;
    this.grants = NODE_PROJECT_ROLES.map(
      (role) => new projects.IAMMember(`${name}-${role.split("/")[1].replace(/\./g, "-")}`, { project: args.project, role, member: account.member }, { parent: this }),
    );
    this.registerOutputs({ email: this.email });
  }
}

export interface WorkloadServiceAccountArgs {
  project: string;
  accountId: string;
  displayName: string;
  /** The Kubernetes service account allowed to act as it through Workload Identity. */
  namespace: string;
  serviceAccountName: string;
  /** Bucket-level grants: the account's only permissions. */
  bucketRoles: { bucket: pulumi.Input<string>; role: string }[];
  /**
   * Roles the account holds on itself, e.g. roles/iam.serviceAccountTokenCreator so it can sign blobs
   * (Velero's signed download URLs under Workload Identity). Default: none.
   */
  selfRoles?: string[];
  /**
   * The cluster: the project's workload identity pool (`<project>.svc.id.goog`) exists once the first
   * cluster with Workload Identity does, and IAM refuses a binding to a principal of a missing pool.
   */
  cluster: pulumi.Resource;
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** A Google service account that exactly one Kubernetes service account impersonates, with bucket-level roles only. */
export class WorkloadServiceAccount extends pulumi.ComponentResource {
  readonly email: pulumi.Output<string>;
  readonly kubernetesMember: string;

  constructor(name: string, args: WorkloadServiceAccountArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:gcp:WorkloadServiceAccount", name, {}, opts);
    const parent = { parent: this };
    this.kubernetesMember = workloadIdentityMember(args.project, args.namespace, args.serviceAccountName);
    const account = new serviceaccount.Account(
      `${name}-sa`,
      { project: args.project, accountId: args.accountId, displayName: args.displayName, description: `Impersonated by ${args.namespace}/${args.serviceAccountName} through Workload Identity` },
      { parent: this, dependsOn: args.dependsOn },
    );
    const binding = new serviceaccount.IAMMember(
      `${name}-workload-identity`,
      { serviceAccountId: account.name, role: WORKLOAD_IDENTITY_USER, member: this.kubernetesMember },
      { parent: this, dependsOn: [args.cluster] },
    );
    const grants: pulumi.Resource[] = args.bucketRoles.map(({ bucket, role }, i) => new storage.BucketIAMMember(`${name}-bucket-${i}`, { bucket, role, member: account.member }, parent));
    for (const role of args.selfRoles ?? []) {
      grants.push(new serviceaccount.IAMMember(`${name}-self-${role.split("/").pop()!.replace(/\./g, "-")}`, { serviceAccountId: account.name, role, member: account.member }, parent));
    }
    // Consumers get the e-mail once the binding and the grants exist, so a pod never starts with a bare account.
    this.email = pulumi.all([account.email, binding.urn, ...grants.map((g) => g.urn)]).apply(([email]) => email);
    this.registerOutputs({ email: this.email });
  }
}
