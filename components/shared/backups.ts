/**
 * What every cloud's backup store (components/<cloud>/backup-store.ts) shares: Velero's key layout and
 * the lifecycle decisions, so the three buckets expire and cool the same objects after the same days.
 */

/** Every object Velero writes sits under this prefix (its BackupStorageLocation `prefix`). */
export const BACKUP_PREFIX = "velero";

/**
 * Velero's backup tarballs and metadata: `<prefix>/backups/<backup>/...`. Only these expire by
 * lifecycle; the file-system backup repository (`<prefix>/kopia/...`) is deduplicated across backups,
 * so an old blob can still be part of a new backup: Velero's repository maintenance deletes those, never
 * the bucket's lifecycle.
 */
export const BACKUP_OBJECTS_PREFIX = `${BACKUP_PREFIX}/backups/`;

/**
 * Days after which the bucket deletes a backup's objects itself: a safety net behind Velero's own
 * garbage collection (which deletes a backup when its ttl passes), never before it.
 */
export const BACKUP_EXPIRY_GRACE_DAYS = 7;

export function backupExpiryDays(retentionDays: number): number {
  if (!Number.isInteger(retentionDays) || retentionDays < 1) throw new Error(`backup retention must be a whole number of days >= 1, got ${retentionDays}`);
  return retentionDays + BACKUP_EXPIRY_GRACE_DAYS;
}

/** The lifecycle of a backup bucket, from the environment profile (infra/profiles.ts `backups`). */
export interface BackupLifecycle {
  /** Days Velero keeps a backup (the Schedule's ttl); the bucket expires backup objects 7 days later. */
  retentionDays: number;
  /** Days a deleted or overwritten object stays recoverable as a noncurrent version. */
  noncurrentVersionExpirationDays: number;
  /** Move objects to a colder, cheaper class after this many days (prod); unset: they stay hot. */
  coldStorageAfterDays?: number;
  abortIncompleteUploadDays: number;
  /** Whether `pulumi destroy` may delete a bucket that still holds backups (dev only). */
  forceDestroy: boolean;
}
