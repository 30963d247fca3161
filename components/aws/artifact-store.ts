import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Tags } from "../contracts";
import { createKmsKey } from "./kms";

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
    const parent = { parent: this };
    this.prefix = args.prefix;

    this.kmsKey = createKmsKey(`${name}-s3`, "Encryption of MLflow artifacts", args.tags, parent);
    this.bucket = new aws.s3.Bucket(`${name}-bucket`, { bucketPrefix: `${name}-`, forceDestroy: args.forceDestroy, tags: { ...args.tags, Name: `${name}-bucket` } }, parent);
    const bucket = this.bucket.id;

    const publicAccess = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      { bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
      parent,
    );
    new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } }, parent);
    new aws.s3.BucketVersioning(`${name}-versioning`, { bucket, versioningConfiguration: { status: "Enabled" } }, parent);
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      { bucket, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: this.kmsKey.arn }, bucketKeyEnabled: true }] },
      parent,
    );
    new aws.s3.BucketPolicy(`${name}-tls-only`, { bucket, policy: this.bucket.arn.apply(tlsOnlyPolicy) }, { parent: this, dependsOn: [publicAccess] });
    new aws.s3.BucketLifecycleConfiguration(`${name}-lifecycle`, { bucket, rules: lifecycleRules(args) }, parent);

    this.uri = pulumi.interpolate`s3://${this.bucket.bucket}/${args.prefix}`;
    this.registerOutputs({ bucket: this.bucket.bucket, uri: this.uri });
  }
}

export function tlsOnlyPolicy(bucketArn: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  });
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
