import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { Tags } from "../contracts";
import { createKmsKey } from "./kms";

export interface PrivateBucketArgs {
  /** What the bucket's own KMS key encrypts (the key's description). */
  keyDescription: string;
  forceDestroy: boolean;
  lifecycleRules: aws.types.input.s3.BucketLifecycleConfigurationRule[];
  tags: Tags;
}

/**
 * An S3 bucket and its own KMS key, as the stores use them: private (all four public-access blocks,
 * ACLs off), versioned, SSE-KMS, TLS only, with the given lifecycle rules. The resources are named
 * `${name}-…` and parented to `parent` (the calling component).
 */
export function privateBucket(name: string, args: PrivateBucketArgs, parent: pulumi.Resource): { bucket: aws.s3.Bucket; kmsKey: aws.kms.Key } {
  const opts = { parent };
  const kmsKey = createKmsKey(`${name}-s3`, args.keyDescription, args.tags, opts);
  const bucketResource = new aws.s3.Bucket(`${name}-bucket`, { bucketPrefix: `${name}-`, forceDestroy: args.forceDestroy, tags: { ...args.tags, Name: `${name}-bucket` } }, opts);
  const bucket = bucketResource.id;

  const publicAccess = new aws.s3.BucketPublicAccessBlock(
    `${name}-public-access`,
    { bucket, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
    opts,
  );
  new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket, rule: { objectOwnership: "BucketOwnerEnforced" } }, opts);
  new aws.s3.BucketVersioning(`${name}-versioning`, { bucket, versioningConfiguration: { status: "Enabled" } }, opts);
  new aws.s3.BucketServerSideEncryptionConfiguration(
    `${name}-encryption`,
    { bucket, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: kmsKey.arn }, bucketKeyEnabled: true }] },
    opts,
  );
  new aws.s3.BucketPolicy(`${name}-tls-only`, { bucket, policy: bucketResource.arn.apply(tlsOnlyPolicy) }, { parent, dependsOn: [publicAccess] });
  new aws.s3.BucketLifecycleConfiguration(`${name}-lifecycle`, { bucket, rules: args.lifecycleRules }, opts);
  return { bucket: bucketResource, kmsKey };
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
