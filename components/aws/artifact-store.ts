import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Tags } from "../contracts";
import { privateBucket } from "./private-bucket";

export interface ArtifactStoreArgs {
  /** Key prefix MLflow writes under; the workload identity is limited to it. */
  prefix: string;
  forceDestroy: boolean;
  noncurrentVersionExpirationDays: number;
  coldStorageAfterDays?: number;
  abortIncompleteUploadDays: number;
  tags: Tags;
}

/** The S3 bucket behind MLflow's artifact proxy: private, versioned, KMS-encrypted, TLS only. */
export class ArtifactStore extends pulumi.ComponentResource {
  readonly bucket: aws.s3.Bucket;
  readonly kmsKey: aws.kms.Key;
  readonly uri: pulumi.Output<string>;
  readonly prefix: string;

  constructor(name: string, args: ArtifactStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:aws:ArtifactStore", name, {}, opts);
    this.prefix = args.prefix;

    const { bucket, kmsKey } = privateBucket(name, { keyDescription: "Encryption of MLflow artifacts", forceDestroy: args.forceDestroy, lifecycleRules: lifecycleRules(args), tags: args.tags }, this);
    this.bucket = bucket;
    this.kmsKey = kmsKey;

    this.uri = pulumi.interpolate`s3://${this.bucket.bucket}/${args.prefix}`;
    this.registerOutputs({ bucket: this.bucket.bucket, uri: this.uri });
  }
}

function lifecycleRules(args: ArtifactStoreArgs): aws.types.input.s3.BucketLifecycleConfigurationRule[] {
  const rules: aws.types.input.s3.BucketLifecycleConfigurationRule[] = [
    { id: "abort-incomplete-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: args.abortIncompleteUploadDays } },
    { id: "expire-noncurrent-versions", status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionExpirationDays } },
  ];
  if (args.coldStorageAfterDays !== undefined) {
    rules.push({ id: "cold-storage", status: "Enabled", filter: {}, transitions: [{ days: args.coldStorageAfterDays, storageClass: "GLACIER_IR" }] });
  }
  return rules;
}
