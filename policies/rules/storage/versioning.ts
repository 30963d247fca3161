import * as aws from "@pulumi/aws";
import { checkEach, peek, stackRule } from "../support/define";
import { platform } from "../support/frameworks";
import { referencing } from "../support/references";
import { azure, gcp } from "../support/types";
import { bucketCompanions, bucketLabel, s3Buckets } from "./buckets";

export const storageVersioning = stackRule(
  {
    name: "storage-versioning",
    description:
      "Buckets keep previous versions of every object, so an overwritten or deleted model artifact can be restored and a registered model version always points at the bytes it was registered with. S3 buckets have versioning Enabled, Cloud Storage buckets have versioning enabled, Azure storage accounts have blob versioning on.",
    severity: "medium",
    framework: platform("Recoverable artifacts (object versioning)"),
    clouds: ["aws", "gcp", "azure"],
    enforcementLevel: "mandatory",
    remediationSteps:
      "AWS: add aws.s3.BucketVersioning with versioningConfiguration.status \"Enabled\". GCP: set versioning.enabled true. Azure: add azure-native storage.BlobServiceProperties for the account with isVersioningEnabled true.",
  },
  (args, report) => {
    const resources = args.resources;
    checkEach(s3Buckets(resources), report, (bucket, reportHere) => {
      const configs = bucketCompanions(resources, bucket, aws.s3.BucketVersioning, aws.s3.BucketVersioningV2);
      const enabled = configs.some((c) => c.props.versioningConfiguration?.status === "Enabled") || peek(() => bucket.props.versioning?.enabled) === true;
      if (!enabled) reportHere(`${bucketLabel(bucket)} is not versioned: add aws.s3.BucketVersioning with status "Enabled"`);
    });
    checkEach(resources.filter((r) => r.isType(gcp.storageBucket)), report, (bucket, reportHere) => {
      if (bucket.props.versioning?.enabled !== true) reportHere(`Cloud Storage bucket "${bucket.name}" is not versioned: set versioning.enabled true`);
    });
    checkEach(resources.filter((r) => r.isType(azure.storageAccount)), report, (account, reportHere) => {
      const services = referencing(resources, [azure.blobServiceProperties], "accountName", account, ["name"]);
      if (!services.some((s) => s.props.isVersioningEnabled === true)) reportHere(`storage account "${account.name}" does not version blobs: add BlobServiceProperties with isVersioningEnabled true`);
    });
  },
);
