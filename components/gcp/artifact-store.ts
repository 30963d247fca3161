import * as storage from "@pulumi/gcp/storage";
import * as pulumi from "@pulumi/pulumi";
import { privateBucket } from "./private-bucket";

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
    this.bucket = privateBucket(name, { ...args, lifecycleRules: lifecycleRules(args) }, this);
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
