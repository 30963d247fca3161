import * as storage from "@pulumi/gcp/storage";
import * as pulumi from "@pulumi/pulumi";

export interface ArtifactStoreArgs {
  project: string;
  /** The bucket's location: the region, next to the cluster (no inter-region egress). */
  region: string;
  /** Object prefix MLflow writes under (artifact store URI gs://<bucket>/<prefix>). */
  prefix: string;
  forceDestroy: boolean;
  noncurrentVersionExpirationDays: number;
  abortIncompleteUploadDays: number;
  /** Move objects to COLDLINE after this many days; unset: they stay STANDARD. */
  coldStorageAfterDays?: number;
  /** Cloud KMS key as the bucket's default key (CMEK); none: Google-managed keys. */
  kmsKey?: pulumi.Input<string>;
  labels: Record<string, string>;
  /** What the bucket waits for (APIs; the Cloud Storage service agent's grant on the key). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** The GCS bucket behind MLflow's artifact proxy: IAM-only, never public, versioned, with lifecycle rules. */
export class ArtifactStore extends pulumi.ComponentResource {
  readonly bucket: storage.Bucket;
  readonly uri: pulumi.Output<string>;
  readonly prefix: string;

  constructor(name: string, args: ArtifactStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:gcp:ArtifactStore", name, {}, opts);
    this.prefix = args.prefix;
    this.bucket = new storage.Bucket(
      `${name}-bucket`,
      {
        project: args.project,
        location: args.region,
        storageClass: "STANDARD",
        // No ACLs: who may read artifacts is in IAM only.
        uniformBucketLevelAccess: true,
        publicAccessPrevention: "enforced",
        versioning: { enabled: true },
        lifecycleRules: lifecycleRules(args),
        encryption: args.kmsKey ? { defaultKmsKeyName: args.kmsKey } : undefined,
        forceDestroy: args.forceDestroy,
        labels: args.labels,
      },
      { parent: this, dependsOn: args.dependsOn },
    );
    this.uri = pulumi.interpolate`gs://${this.bucket.name}/${args.prefix}`;
    this.registerOutputs({ bucket: this.bucket.name, uri: this.uri });
  }
}

export function lifecycleRules(args: Pick<ArtifactStoreArgs, "noncurrentVersionExpirationDays" | "abortIncompleteUploadDays" | "coldStorageAfterDays">): storage.BucketArgs["lifecycleRules"] & unknown[] {
  const rules = [
    { action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: args.noncurrentVersionExpirationDays, withState: "ARCHIVED" } },
    { action: { type: "AbortIncompleteMultipartUpload" }, condition: { age: args.abortIncompleteUploadDays } },
  ];
  if (args.coldStorageAfterDays !== undefined) {
    rules.push({ action: { type: "SetStorageClass", storageClass: "COLDLINE" } as { type: string }, condition: { age: args.coldStorageAfterDays, matchesStorageClasses: ["STANDARD"] } as { age: number } });
  }
  return rules;
}
