import * as storage from "@pulumi/gcp/storage";
import type * as pulumi from "@pulumi/pulumi";

export interface PrivateBucketArgs {
  project: string;
  /** The bucket's location: the region, next to the cluster (no inter-region egress). */
  region: string;
  forceDestroy: boolean;
  lifecycleRules: storage.BucketArgs["lifecycleRules"];
  /** Cloud KMS key as the bucket's default key (CMEK); none: Google-managed keys. */
  kmsKey?: pulumi.Input<string>;
  labels: Record<string, string>;
  /** What the bucket waits for (APIs; the Cloud Storage service agent's grant on the key). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * A GCS bucket as the stores use them: IAM only (uniform bucket-level access), public access
 * prevented, versioned, CMEK when a key is given, with the given lifecycle rules. Named
 * `${name}-bucket` and parented to `parent` (the calling component).
 */
export function privateBucket(name: string, args: PrivateBucketArgs, parent: pulumi.Resource): storage.Bucket {
  return new storage.Bucket(
    `${name}-bucket`,
    {
      project: args.project,
      location: args.region,
      storageClass: "STANDARD",
      // No ACLs: who may read the objects is in IAM only.
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "enforced",
      versioning: { enabled: true },
      lifecycleRules: args.lifecycleRules,
      encryption: args.kmsKey ? { defaultKmsKeyName: args.kmsKey } : undefined,
      forceDestroy: args.forceDestroy,
      labels: args.labels,
    },
    { parent, dependsOn: args.dependsOn },
  );
}
