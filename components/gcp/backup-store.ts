import * as storage from "@pulumi/gcp/storage";
import * as pulumi from "@pulumi/pulumi";
import { BACKUP_OBJECTS_PREFIX, BACKUP_PREFIX, backupExpiryDays, type BackupLifecycle } from "../shared/backups";
import { privateBucket } from "./private-bucket";

export interface BackupStoreArgs extends BackupLifecycle {
  project: string;
  /** The bucket's location: the cluster's region. */
  region: string;
  /** Cloud KMS key as the bucket's default key (CMEK, prod); none: Google-managed keys. */
  kmsKey?: pulumi.Input<string>;
  labels: Record<string, string>;
  /** What the bucket waits for (APIs; the Cloud Storage service agent's grant on the key). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * The GCS bucket Velero writes the cluster's backups to, apart from the artifact store: IAM only
 * (uniform bucket-level access), public access prevented, versioned, CMEK in prod, lifecycle rules
 * (backup objects deleted after the retention plus a grace, noncurrent versions deleted, incomplete
 * uploads aborted, NEARLINE in prod).
 */
export class BackupStore extends pulumi.ComponentResource {
  readonly bucket: storage.Bucket;
  readonly prefix = BACKUP_PREFIX;

  constructor(name: string, args: BackupStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:gcp:BackupStore", name, {}, opts);
    this.bucket = privateBucket(name, { ...args, lifecycleRules: backupLifecycleRules(args), labels: { ...args.labels, purpose: "cluster-backups" } }, this);
    this.registerOutputs({ bucket: this.bucket.name });
  }
}

type Rule = { action: { type: string; storageClass?: string }; condition: Record<string, unknown> };

/** The lifecycle of the backup bucket (a pure function, tested on its own). */
export function backupLifecycleRules(args: BackupLifecycle): Rule[] {
  const rules: Rule[] = [
    { action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: args.noncurrentVersionExpirationDays, withState: "ARCHIVED" } },
    { action: { type: "AbortIncompleteMultipartUpload" }, condition: { age: args.abortIncompleteUploadDays } },
    // Behind Velero's own garbage collection (the Schedule's ttl): backup objects only, never the file-system backup repository.
    { action: { type: "Delete" }, condition: { age: backupExpiryDays(args.retentionDays), matchesPrefixes: [BACKUP_OBJECTS_PREFIX], withState: "LIVE" } },
  ];
  if (args.coldStorageAfterDays !== undefined) {
    // NEARLINE: read within milliseconds at restore time, 30 days minimum storage.
    rules.push({ action: { type: "SetStorageClass", storageClass: "NEARLINE" }, condition: { age: Math.max(30, args.coldStorageAfterDays), matchesStorageClasses: ["STANDARD"] } });
  }
  return rules;
}
