import * as aws from "@pulumi/aws";
import { checkEach, stackRule } from "../support/define";
import { platform } from "../support/frameworks";
import { azure, gcp } from "../support/types";
import { bucketCompanions, bucketLabel, s3Buckets } from "./buckets";

export const storageIamOnlyAccess = stackRule(
  {
    name: "storage-iam-only-access",
    description:
      "Access to buckets is granted only through the cloud's identity and access management, never through per-object ACLs or account keys. S3 buckets keep object ownership BucketOwnerEnforced (ACLs disabled), Cloud Storage buckets use uniform bucket-level access, and Azure storage accounts refuse shared-key access. One place to read who can reach the artifacts makes access reviews and workload identity meaningful.",
    severity: "high",
    framework: platform("Access through IAM only (AWS: S3 Object Ownership; GCP: uniform bucket-level access, CIS GCP 5.2; Azure: shared key authorization disabled)"),
    clouds: ["aws", "gcp", "azure"],
    enforcementLevel: "advisory",
    remediationSteps:
      "AWS: leave S3 Object Ownership at its default or set aws.s3.BucketOwnershipControls rule.objectOwnership \"BucketOwnerEnforced\". GCP: set uniformBucketLevelAccess true. Azure: set allowSharedKeyAccess false and reach the account through workload identity.",
  },
  (args, report) => {
    const resources = args.resources;
    checkEach(s3Buckets(resources), report, (bucket, reportHere) => {
      // Since April 2023 a new bucket has ACLs disabled unless ownership controls turn them back on.
      for (const controls of bucketCompanions(resources, bucket, aws.s3.BucketOwnershipControls)) {
        const ownership = controls.props.rule?.objectOwnership;
        if (ownership !== "BucketOwnerEnforced") reportHere(`${bucketLabel(bucket)} re-enables ACLs (objectOwnership "${ownership}"): use "BucketOwnerEnforced"`);
      }
    });
    checkEach(resources.filter((r) => r.isType(gcp.storageBucket)), report, (bucket, reportHere) => {
      if (bucket.props.uniformBucketLevelAccess !== true) reportHere(`Cloud Storage bucket "${bucket.name}" allows per-object ACLs: set uniformBucketLevelAccess true`);
    });
    checkEach(resources.filter((r) => r.isType(azure.storageAccount)), report, (account, reportHere) => {
      if (account.props.allowSharedKeyAccess !== false) reportHere(`storage account "${account.name}" accepts its shared keys: set allowSharedKeyAccess false (workload identity reaches it through Entra ID)`);
    });
  },
);
