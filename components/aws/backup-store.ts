import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Tags } from "../contracts";
import { BACKUP_OBJECTS_PREFIX, BACKUP_PREFIX, backupExpiryDays, type BackupLifecycle } from "../shared/backups";
import { tlsOnlyPolicy } from "./artifact-store";
import { createKmsKey } from "./kms";

export interface BackupStoreArgs extends BackupLifecycle {
  tags: Tags;
}

/**
 * The S3 bucket Velero writes the cluster's backups to, apart from the artifact store: private
 * (all four public-access blocks, ACLs off), versioned, SSE-KMS with its own key, TLS only, and
 * lifecycle rules (backup objects expire after the retention plus a grace, noncurrent versions
 * expire, incomplete uploads are aborted, cold storage in prod).
 */
export class BackupStore extends pulumi.ComponentResource {
  readonly bucket: aws.s3.Bucket;
  readonly kmsKey: aws.kms.Key;
  readonly prefix = BACKUP_PREFIX;

  constructor(name: string, args: BackupStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:aws:BackupStore", name, {}, opts);
    const parent = { parent: this };

    this.kmsKey = createKmsKey(`${name}-s3`, "Encryption of the cluster's Velero backups", args.tags, parent);
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
    new aws.s3.BucketLifecycleConfiguration(`${name}-lifecycle`, { bucket, rules: backupLifecycleRules(args) }, parent);
    this.registerOutputs({ bucket: this.bucket.bucket });
  }
}

/** The lifecycle of the backup bucket (a pure function, tested on its own). */
export function backupLifecycleRules(args: BackupLifecycle): aws.types.input.s3.BucketLifecycleConfigurationRule[] {
  const rules: aws.types.input.s3.BucketLifecycleConfigurationRule[] = [
    { id: "abort-incomplete-uploads", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: args.abortIncompleteUploadDays } },
    { id: "expire-noncurrent-versions", status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionExpirationDays } },
    // Behind Velero's own garbage collection (the Schedule's ttl): only backup objects, never the file-system backup repository.
    { id: "expire-old-backups", status: "Enabled", filter: { prefix: BACKUP_OBJECTS_PREFIX }, expiration: { days: backupExpiryDays(args.retentionDays) } },
  ];
  if (args.coldStorageAfterDays !== undefined) {
    // STANDARD_IA: no retrieval delay for a restore, 30 days minimum (S3 refuses an earlier transition).
    rules.push({ id: "cold-storage", status: "Enabled", filter: {}, transitions: [{ days: Math.max(30, args.coldStorageAfterDays), storageClass: "STANDARD_IA" }] });
  }
  return rules;
}
