import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Tags } from "../contracts";
import { BACKUP_OBJECTS_PREFIX, BACKUP_PREFIX, backupExpiryDays, type BackupLifecycle } from "../shared/backups";
import { privateBucket } from "./private-bucket";

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
    const { bucket, kmsKey } = privateBucket(name, { keyDescription: "Encryption of the cluster's Velero backups", forceDestroy: args.forceDestroy, lifecycleRules: backupLifecycleRules(args), tags: args.tags }, this);
    this.bucket = bucket;
    this.kmsKey = kmsKey;
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
