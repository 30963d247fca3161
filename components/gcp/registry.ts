import * as artifactregistry from "@pulumi/gcp/artifactregistry";
import * as pulumi from "@pulumi/pulumi";
import { NODE_REGISTRY_ROLE } from "./identity";

export interface ImageRegistryArgs {
  project: string;
  region: string;
  /** Repository id: 1-63 lower-case letters, digits and '-'. */
  repositoryId: string;
  /**
   * Delete untagged images older than this many days (Artifact Registry cleanup policy); unset: keep
   * everything. Tagged images are never deleted: their tags are immutable and releases pin them.
   */
  deleteUntaggedAfterDays?: number;
  /** IAM members that pull from the repository (the GKE nodes). */
  readers: pulumi.Input<string>[];
  labels: Record<string, string>;
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** The Docker repository the platform's images are pushed to: immutable tags, pull access per repository. */
export class ImageRegistry extends pulumi.ComponentResource {
  readonly repository: artifactregistry.Repository;
  /** `<region>-docker.pkg.dev/<project>/<repository>`: the prefix of every image name. */
  readonly url: pulumi.Output<string>;
  readonly readerGrants: artifactregistry.RepositoryIamMember[];

  constructor(name: string, args: ImageRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:gcp:ImageRegistry", name, {}, opts);
    if (!/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/.test(args.repositoryId)) throw new Error(`Artifact Registry repository id "${args.repositoryId}": lower-case letters, digits and '-', 1-63 characters`);
    const cleanup = args.deleteUntaggedAfterDays;
    this.repository = new artifactregistry.Repository(
      `${name}-docker`,
      {
        project: args.project,
        location: args.region,
        repositoryId: args.repositoryId,
        format: "DOCKER",
        description: "Images of the MLOps platform",
        // A pushed tag can never be moved to other bytes: what was reviewed is what runs.
        dockerConfig: { immutableTags: true },
        cleanupPolicies:
          cleanup === undefined ? undefined : [{ id: "delete-untagged", action: "DELETE", condition: { tagState: "UNTAGGED", olderThan: `${cleanup * 86400}s` } }],
        cleanupPolicyDryRun: cleanup === undefined ? undefined : false,
        labels: args.labels,
      },
      { parent: this, dependsOn: args.dependsOn },
    );
    this.readerGrants = args.readers.map(
      (member, i) =>
        new artifactregistry.RepositoryIamMember(
          `${name}-reader-${i}`,
          { project: args.project, location: args.region, repository: this.repository.repositoryId, role: NODE_REGISTRY_ROLE, member },
          { parent: this },
        ),
    );
    this.url = pulumi.interpolate`${args.region}-docker.pkg.dev/${args.project}/${this.repository.repositoryId}`;
    this.registerOutputs({ url: this.url });
  }
}
