import * as projects from "@pulumi/gcp/projects";
import * as pulumi from "@pulumi/pulumi";

/** The Google APIs the foundation calls: every resource of it waits for them. */
export const REQUIRED_APIS = [
  "compute.googleapis.com",
  "container.googleapis.com",
  "sqladmin.googleapis.com",
  "servicenetworking.googleapis.com",
  "artifactregistry.googleapis.com",
  "cloudkms.googleapis.com",
  "iam.googleapis.com",
  // The bucket, and the project lookup that names the GKE service agent (usually on already).
  "storage.googleapis.com",
  "cloudresourcemanager.googleapis.com",
  // The cluster's log bucket, sink and exclusion (usually on already: GKE writes its logs there).
  "logging.googleapis.com",
] as const;

export interface ProjectApisArgs {
  project: string;
  /** Further APIs beyond REQUIRED_APIS. */
  extra?: string[];
}

/**
 * Enables the project's APIs. `disableOnDestroy: false`: destroying a stack never switches an API off
 * under other workloads of the project; `disableDependentServices: false` likewise.
 */
export class ProjectApis extends pulumi.ComponentResource {
  readonly services: projects.Service[];

  constructor(name: string, args: ProjectApisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:gcp:ProjectApis", name, {}, opts);
    const apis = [...new Set([...REQUIRED_APIS, ...(args.extra ?? [])])];
    this.services = apis.map(
      (service) =>
        new projects.Service(
          `${name}-${service.split(".")[0]}`,
          { project: args.project, service, disableOnDestroy: false, disableDependentServices: false },
          { parent: this },
        ),
    );
    this.registerOutputs({ services: apis });
  }
}
