import * as aws from "@pulumi/aws";
import { checkEach, isSet, peek, stackRule } from "../support/define";
import { platform } from "../support/frameworks";
import { azure, gcp } from "../support/types";
import { bucketCompanions, bucketLabel, s3Buckets } from "./buckets";

const KMS_ALGORITHMS = ["aws:kms", "aws:kms:dsse"];

export const storageEncryption = stackRule(
  {
    name: "storage-encryption",
    description:
      "Bucket contents are encrypted at rest with a customer-managed key: S3 default encryption is SSE-KMS with a key of ours, Cloud Storage buckets name a Cloud KMS default key, Azure storage accounts use a Key Vault key. Every cloud already encrypts with its own keys; a customer-managed key adds an access check on every read and lets the key be revoked. With requireCustomerManagedKey false, the cloud's own keys are accepted.",
    severity: "high",
    framework: platform("Encryption at rest with customer-managed keys (AWS S3 SSE-KMS; GCP CMEK; Azure customer-managed keys)"),
    clouds: ["aws", "gcp", "azure"],
    enforcementLevel: "mandatory",
    configSchema: { properties: { requireCustomerManagedKey: { type: "boolean", default: true } } },
    remediationSteps:
      "AWS: add aws.s3.BucketServerSideEncryptionConfiguration with sseAlgorithm \"aws:kms\" and kmsMasterKeyId set to a KMS key of the stack. GCP: set encryption.defaultKmsKeyName. Azure: set encryption.keySource \"Microsoft.Keyvault\" with keyVaultProperties.",
  },
  (args, report) => {
    const { requireCustomerManagedKey } = args.getConfig<{ requireCustomerManagedKey: boolean }>();
    const resources = args.resources;
    checkEach(s3Buckets(resources), report, (bucket, reportHere) => {
      const configs = bucketCompanions(resources, bucket, aws.s3.BucketServerSideEncryptionConfiguration, aws.s3.BucketServerSideEncryptionConfigurationV2);
      // The deprecated inline block is an output S3 reports (SSE-S3) when the program leaves it unset.
      const inline = peek(() => bucket.props.serverSideEncryptionConfiguration?.rule);
      const rules: any[] = configs.length ? configs.flatMap((c) => c.props.rules ?? []) : inline ? [inline] : [];
      const byDefault = rules.map((r) => r?.applyServerSideEncryptionByDefault).filter(Boolean);
      if (!requireCustomerManagedKey) return; // S3 encrypts every object (SSE-S3) since January 2023.
      if (byDefault.length === 0) {
        reportHere(`${bucketLabel(bucket)} uses S3's own keys: add aws.s3.BucketServerSideEncryptionConfiguration with sseAlgorithm "aws:kms" and a KMS key`);
        return;
      }
      const rule = byDefault[0];
      if (!KMS_ALGORITHMS.includes(rule.sseAlgorithm)) reportHere(`${bucketLabel(bucket)} encrypts with ${rule.sseAlgorithm}: use "aws:kms" with a customer-managed key`);
      else if (!isSet(() => rule.kmsMasterKeyId)) reportHere(`${bucketLabel(bucket)} uses the AWS-managed key aws/s3: set kmsMasterKeyId to a KMS key of the stack`);
    });
    if (!requireCustomerManagedKey) return;
    checkEach(resources.filter((r) => r.isType(gcp.storageBucket)), report, (bucket, reportHere) => {
      if (!isSet(() => bucket.props.encryption?.defaultKmsKeyName)) reportHere(`Cloud Storage bucket "${bucket.name}" uses Google-managed keys: set encryption.defaultKmsKeyName`);
    });
    checkEach(resources.filter((r) => r.isType(azure.storageAccount)), report, (account, reportHere) => {
      if (account.props.encryption?.keySource !== "Microsoft.Keyvault") reportHere(`storage account "${account.name}" uses Microsoft-managed keys: set encryption.keySource "Microsoft.Keyvault"`);
    });
  },
);
