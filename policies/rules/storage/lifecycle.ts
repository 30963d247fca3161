import * as aws from "@pulumi/aws";
import { checkEach, peek, stackRule } from "../support/define";
import { platform } from "../support/frameworks";
import { referencing } from "../support/references";
import { azure, gcp } from "../support/types";
import { bucketCompanions, bucketLabel, s3Buckets } from "./buckets";

const S3_COLD_CLASSES = ["STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"];
const GCS_COLD_CLASSES = ["NEARLINE", "COLDLINE", "ARCHIVE"];

interface Needs {
  noncurrent: boolean;
  multipart: boolean;
  cold: boolean;
}

function missing(found: Needs, requireColdStorage: boolean, bucket: string): string | undefined {
  const gaps = [
    found.noncurrent ? undefined : "expire noncurrent versions",
    found.multipart ? undefined : "abort incomplete multipart uploads",
    !requireColdStorage || found.cold ? undefined : "move objects to a colder storage class",
  ].filter(Boolean);
  return gaps.length ? `${bucket} has no enabled lifecycle rule to ${gaps.join(", ")}` : undefined;
}

function s3Needs(rules: any[]): Needs {
  const enabled = rules.filter((r) => r?.status === "Enabled");
  return {
    noncurrent: enabled.some((r) => r.noncurrentVersionExpiration),
    multipart: enabled.some((r) => r.abortIncompleteMultipartUpload?.daysAfterInitiation !== undefined),
    cold: enabled.some((r) => (r.transitions ?? []).some((t: any) => S3_COLD_CLASSES.includes(t.storageClass))),
  };
}

/** The deprecated inline `lifecycleRules` of aws.s3.Bucket, in the shape of the separate resource. */
function inlineS3Rules(inline: any[] | undefined): any[] {
  return (inline ?? []).map((r) => ({
    status: r.enabled ? "Enabled" : "Disabled",
    noncurrentVersionExpiration: r.noncurrentVersionExpiration,
    abortIncompleteMultipartUpload: r.abortIncompleteMultipartUploadDays !== undefined ? { daysAfterInitiation: r.abortIncompleteMultipartUploadDays } : undefined,
    transitions: r.transitions,
  }));
}

function gcsNeeds(bucket: Record<string, any>): Needs {
  const rules: any[] = bucket.lifecycleRules ?? [];
  const deletes = rules.filter((r) => r.action?.type === "Delete");
  return {
    noncurrent: deletes.some((r) => r.condition?.daysSinceNoncurrentTime !== undefined || r.condition?.numNewerVersions !== undefined || r.condition?.withState === "ARCHIVED"),
    multipart: rules.some((r) => r.action?.type === "AbortIncompleteMultipartUpload"),
    cold: bucket.autoclass?.enabled === true || rules.some((r) => r.action?.type === "SetStorageClass" && GCS_COLD_CLASSES.includes(r.action?.storageClass)),
  };
}

function azureNeeds(policies: Record<string, any>[]): Needs {
  const actions = policies.flatMap((p) => (p.policy?.rules ?? []).filter((r: any) => r.enabled !== false).map((r: any) => r.definition?.actions ?? {}));
  return {
    noncurrent: actions.some((a: any) => a.version?.delete),
    // Azure discards uncommitted blocks after seven days by itself.
    multipart: true,
    cold: actions.some((a: any) => a.baseBlob?.tierToCool || a.baseBlob?.tierToCold || a.baseBlob?.tierToArchive),
  };
}

export const storageLifecycle = stackRule(
  {
    name: "storage-lifecycle",
    description:
      "Every bucket has lifecycle rules, so versioning does not grow storage without bound: noncurrent versions expire and incomplete multipart uploads are aborted. With requireColdStorage (production), objects also move to a colder storage class after a while, as old model versions are rarely read.",
    severity: "low",
    framework: platform("Storage lifecycle: bounded versions, cold storage in production"),
    clouds: ["aws", "gcp", "azure"],
    enforcementLevel: "advisory",
    configSchema: { properties: { requireColdStorage: { type: "boolean", default: false } } },
    remediationSteps:
      "AWS: add aws.s3.BucketLifecycleConfiguration with enabled rules for noncurrentVersionExpiration, abortIncompleteMultipartUpload and (production) a transition to GLACIER_IR or another cold class. GCP: lifecycleRules with a Delete on daysSinceNoncurrentTime, AbortIncompleteMultipartUpload and SetStorageClass (or autoclass). Azure: a ManagementPolicy with version.delete and baseBlob.tierToCool.",
  },
  (args, report) => {
    const { requireColdStorage } = args.getConfig<{ requireColdStorage: boolean }>();
    const resources = args.resources;
    checkEach(s3Buckets(resources), report, (bucket, reportHere) => {
      const configs = bucketCompanions(resources, bucket, aws.s3.BucketLifecycleConfiguration, aws.s3.BucketLifecycleConfigurationV2);
      const rules = configs.length ? configs.flatMap((c) => c.props.rules ?? []) : inlineS3Rules(peek(() => bucket.props.lifecycleRules));
      const problem = missing(s3Needs(rules), requireColdStorage, bucketLabel(bucket));
      if (problem) reportHere(problem);
    });
    checkEach(resources.filter((r) => r.isType(gcp.storageBucket)), report, (bucket, reportHere) => {
      const problem = missing(gcsNeeds(bucket.props), requireColdStorage, `Cloud Storage bucket "${bucket.name}"`);
      if (problem) reportHere(problem);
    });
    checkEach(resources.filter((r) => r.isType(azure.storageAccount)), report, (account, reportHere) => {
      const policies = referencing(resources, [azure.managementPolicy], "accountName", account, ["name"]).map((p) => p.props);
      const problem = missing(azureNeeds(policies), requireColdStorage, `storage account "${account.name}"`);
      if (problem) reportHere(problem);
    });
  },
);
