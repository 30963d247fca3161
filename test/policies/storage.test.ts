import { storageRules } from "../../policies/rules/storage";
import { storageEncryption } from "../../policies/rules/storage/encryption";
import { storageIamOnlyAccess } from "../../policies/rules/storage/iam-only-access";
import { storageKmsKeyRotation } from "../../policies/rules/storage/kms-key-rotation";
import { storageLifecycle } from "../../policies/rules/storage/lifecycle";
import { storageNoForceDestroy } from "../../policies/rules/storage/no-force-destroy";
import { storageNoPublicAccess } from "../../policies/rules/storage/no-public-access";
import { storageTlsOnly } from "../../policies/rules/storage/tls-only";
import { storageVersioning } from "../../policies/rules/storage/versioning";
import type { DeclaredResource } from "../../scripts/plan/harness";
import { check, dependsOn, messages, resource, UNKNOWN } from "../helpers/policy-engine";
import { runCases, type RuleCase } from "./support/cases";

const BUCKET = "aws:s3/bucket:Bucket";
const KEY_ARN = "arn:aws:kms:us-west-2:123456789012:key/k1";

/** A bucket and its companion resources pointing at it through `bucket` (an Output of the bucket's id). */
function s3(companions: Record<string, Record<string, any>> = {}, bucketInputs: Record<string, any> = {}): DeclaredResource[] {
  const bucket = resource(BUCKET, { bucketPrefix: "artifacts-", ...bucketInputs }, { name: "artifacts", id: "artifacts-4f2a", state: { bucketPrefix: "artifacts-", bucket: "artifacts-4f2a", ...bucketInputs } });
  const others = Object.entries(companions).map(([type, inputs]) => dependsOn(resource(type, { bucket: "artifacts-4f2a", ...inputs }), "bucket", bucket));
  return [bucket, ...others];
}

const PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock";
const ALL_BLOCKED = { blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true };
const SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration";
const POLICY = "aws:s3/bucketPolicy:BucketPolicy";
const VERSIONING = "aws:s3/bucketVersioning:BucketVersioning";
const LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration";
const TLS_POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Deny", Principal: "*", Action: "s3:*", Resource: ["arn:aws:s3:::artifacts-4f2a", "arn:aws:s3:::artifacts-4f2a/*"], Condition: { Bool: { "aws:SecureTransport": "false" } } }],
});
const LIFECYCLE_RULES = [
  { id: "abort", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
  { id: "noncurrent", status: "Enabled", filter: {}, noncurrentVersionExpiration: { noncurrentDays: 90 } },
];
const COLD = { id: "cold", status: "Enabled", filter: {}, transitions: [{ days: 90, storageClass: "GLACIER_IR" }] };

const gcsBucket = (inputs: Record<string, any>) => resource("gcp:storage/bucket:Bucket", { location: "EU", ...inputs }, { name: "gcs-artifacts" });
const azureAccount = (inputs: Record<string, any>) =>
  resource("azure-native:storage:StorageAccount", { kind: "StorageV2", allowBlobPublicAccess: false, minimumTlsVersion: "TLS1_2", enableHttpsTrafficOnly: true, allowSharedKeyAccess: false, ...inputs }, { name: "account" });

const cases: RuleCase[] = [
  {
    rule: storageNoPublicAccess,
    mistake: "an S3 bucket without a public-access block",
    bad: () => s3(),
    expected: /bucket "artifacts" has no public-access block/,
    good: () => s3({ [PAB]: ALL_BLOCKED }),
  },
  {
    rule: storageNoPublicAccess,
    mistake: "a public-access block that still allows public bucket policies",
    bad: () => s3({ [PAB]: { ...ALL_BLOCKED, blockPublicPolicy: false, restrictPublicBuckets: false } }),
    expected: /leaves blockPublicPolicy, restrictPublicBuckets off/,
    good: () => [...s3(), resource("aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock", ALL_BLOCKED)],
  },
  {
    rule: storageNoPublicAccess,
    mistake: "a bucket made public with the public-read canned ACL",
    bad: () => s3({ [PAB]: ALL_BLOCKED, "aws:s3/bucketAcl:BucketAcl": { acl: "public-read" } }),
    expected: /public through the canned ACL "public-read"/,
    good: () => s3({ [PAB]: ALL_BLOCKED, "aws:s3/bucketAcl:BucketAcl": { acl: "private" } }),
  },
  {
    rule: storageNoPublicAccess,
    mistake: "a Cloud Storage bucket readable by allUsers",
    bad: () => {
      const bucket = gcsBucket({ publicAccessPrevention: "enforced" });
      return [bucket, dependsOn(resource("gcp:storage/bucketIAMMember:BucketIAMMember", { bucket: "b", role: "roles/storage.objectViewer", member: "allUsers" }), "bucket", bucket)];
    },
    expected: /grants roles\/storage.objectViewer to allUsers/,
    good: () => [gcsBucket({ publicAccessPrevention: "enforced" })],
  },
  {
    rule: storageNoPublicAccess,
    mistake: "a Cloud Storage bucket inheriting public access prevention, and an Azure account allowing anonymous blobs",
    bad: () => [gcsBucket({}), azureAccount({ allowBlobPublicAccess: true })],
    expected: /does not enforce public access prevention|allows anonymous blob access/,
    good: () => [gcsBucket({ publicAccessPrevention: "enforced" }), azureAccount({}), resource("azure-native:storage:BlobContainer", { publicAccess: "None" })],
  },
  {
    rule: storageIamOnlyAccess,
    mistake: "ownership controls that turn S3 ACLs back on",
    bad: () => s3({ "aws:s3/bucketOwnershipControls:BucketOwnershipControls": { rule: { objectOwnership: "ObjectWriter" } } }),
    expected: /re-enables ACLs \(objectOwnership "ObjectWriter"\)/,
    good: () => s3({ "aws:s3/bucketOwnershipControls:BucketOwnershipControls": { rule: { objectOwnership: "BucketOwnerEnforced" } } }),
  },
  {
    rule: storageIamOnlyAccess,
    mistake: "per-object ACLs on GCS and shared keys on Azure",
    bad: () => [gcsBucket({ uniformBucketLevelAccess: false }), azureAccount({ allowSharedKeyAccess: true })],
    expected: /allows per-object ACLs|accepts its shared keys/,
    good: () => [gcsBucket({ uniformBucketLevelAccess: true }), azureAccount({})],
  },
  {
    rule: storageEncryption,
    mistake: "a bucket left on S3's own keys (no default encryption configured)",
    bad: () => s3(),
    expected: /uses S3's own keys/,
    good: () => s3({ [SSE]: { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: KEY_ARN } }] } }),
  },
  {
    rule: storageEncryption,
    mistake: "SSE-KMS with the AWS-managed key",
    bad: () => s3({ [SSE]: { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }] } }),
    expected: /uses the AWS-managed key aws\/s3/,
    good: () => s3({ [SSE]: { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] } }),
    goodParams: { requireCustomerManagedKey: false },
  },
  {
    rule: storageEncryption,
    mistake: "GCS and Azure storage on provider-managed keys",
    bad: () => [gcsBucket({}), azureAccount({ encryption: { keySource: "Microsoft.Storage" } })],
    expected: /uses Google-managed keys|uses Microsoft-managed keys/,
    good: () => [gcsBucket({ encryption: { defaultKmsKeyName: "projects/p/locations/eu/keyRings/r/cryptoKeys/k" } }), azureAccount({ encryption: { keySource: "Microsoft.Keyvault" } })],
  },
  {
    rule: storageTlsOnly,
    mistake: "a bucket whose policy grants access but never denies plain HTTP",
    bad: () => s3({ [POLICY]: { policy: JSON.stringify({ Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::123456789012:root" }, Action: "s3:GetObject", Resource: "*" }] }) } }),
    expected: /accepts plain HTTP/,
    good: () => s3({ [POLICY]: { policy: TLS_POLICY } }),
  },
  {
    rule: storageTlsOnly,
    mistake: "an Azure storage account accepting HTTP and TLS 1.0",
    bad: () => [azureAccount({ enableHttpsTrafficOnly: false, minimumTlsVersion: "TLS1_0" })],
    expected: /accepts HTTP|accepts TLS1_0/,
    good: () => [azureAccount({})],
  },
  {
    rule: storageVersioning,
    mistake: "a bucket whose versioning was suspended",
    bad: () => s3({ [VERSIONING]: { versioningConfiguration: { status: "Suspended" } } }),
    expected: /bucket "artifacts" is not versioned/,
    good: () => s3({ [VERSIONING]: { versioningConfiguration: { status: "Enabled" } } }),
  },
  {
    rule: storageVersioning,
    mistake: "unversioned GCS and Azure storage",
    bad: () => [gcsBucket({}), azureAccount({})],
    expected: /is not versioned|does not version blobs/,
    good: () => {
      const account = azureAccount({});
      return [gcsBucket({ versioning: { enabled: true } }), account, dependsOn(resource("azure-native:storage:BlobServiceProperties", { accountName: "account", isVersioningEnabled: true }), "accountName", account)];
    },
  },
  {
    rule: storageLifecycle,
    mistake: "a versioned bucket without lifecycle rules (noncurrent versions pile up forever)",
    bad: () => s3({ [VERSIONING]: { versioningConfiguration: { status: "Enabled" } } }),
    expected: /has no enabled lifecycle rule to expire noncurrent versions, abort incomplete multipart uploads/,
    good: () => s3({ [LIFECYCLE]: { rules: LIFECYCLE_RULES } }),
  },
  {
    rule: storageLifecycle,
    mistake: "production artifacts that never move to cold storage",
    bad: () => s3({ [LIFECYCLE]: { rules: LIFECYCLE_RULES } }),
    expected: /move objects to a colder storage class/,
    good: () => s3({ [LIFECYCLE]: { rules: [...LIFECYCLE_RULES, COLD] } }),
    params: { requireColdStorage: true },
  },
  {
    rule: storageNoForceDestroy,
    mistake: "a production bucket with forceDestroy (a replacement deletes every artifact)",
    bad: () => s3({}, { forceDestroy: true }),
    expected: /sets forceDestroy/,
    good: () => s3({}, { forceDestroy: false }),
  },
  {
    rule: storageKmsKeyRotation,
    mistake: "a customer-managed KMS key that never rotates",
    bad: () => [resource("aws:kms/key:Key", { description: "artifacts" }, { name: "artifacts-key" })],
    expected: /KMS key "artifacts-key" never rotates/,
    good: () => [resource("aws:kms/key:Key", { enableKeyRotation: true }), resource("aws:kms/key:Key", { customerMasterKeySpec: "RSA_2048", keyUsage: "SIGN_VERIFY" })],
  },
  {
    rule: storageKmsKeyRotation,
    mistake: "a Cloud KMS key rotating every two years",
    bad: () => [resource("gcp:kms/cryptoKey:CryptoKey", { rotationPeriod: `${730 * 86400}s` }, { name: "cmek" })],
    expected: /rotates every 63072000s; at most 365 days allowed/,
    good: () => [resource("gcp:kms/cryptoKey:CryptoKey", { rotationPeriod: "7776000s" })],
  },
];

runCases("storage", storageRules, cases);

describe("during preview", () => {
  test("a bucket whose name is still unknown is matched to its public-access block through the property dependency", async () => {
    const bucket = resource(BUCKET, { bucketPrefix: "artifacts-" }, { name: "artifacts", id: UNKNOWN, state: { bucketPrefix: "artifacts-", bucket: UNKNOWN, arn: UNKNOWN } });
    const block = dependsOn(resource(PAB, { bucket: UNKNOWN, ...ALL_BLOCKED }), "bucket", bucket);
    expect(await check(storageNoPublicAccess, [bucket, block])).toEqual([]);
    expect(messages(await check(storageNoPublicAccess, [bucket]))).toEqual([expect.stringContaining("has no public-access block")]);
  });

  test("a KMS key ARN unknown during preview still counts as a customer-managed key", async () => {
    const resources = s3({ [SSE]: { rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: UNKNOWN } }] } });
    expect(await check(storageEncryption, resources)).toEqual([]);
  });

  test("a bucket policy computed from the bucket's ARN cannot be verified and is reported, not passed", async () => {
    const violations = await check(storageTlsOnly, s3({ [POLICY]: { policy: UNKNOWN } }));
    expect(violations).toEqual([
      expect.objectContaining({ level: "mandatory", resource: expect.stringContaining("::artifacts"), message: expect.stringMatching(/^cannot be verified until \.policy is known/) }),
    ]);
  });
});
