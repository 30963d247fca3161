import * as aws from "@pulumi/aws";
import type { PolicyResource } from "@pulumi/policy";
import { checkEach, peek, stackRule } from "../support/define";
import { cisAws } from "../support/frameworks";
import { referencing } from "../support/references";
import { azure, gcp } from "../support/types";
import { bucketCompanions, bucketLabel, s3Buckets } from "./buckets";

const BLOCK_FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;
const PUBLIC_CANNED_ACLS = ["public-read", "public-read-write", "authenticated-read"];
const PUBLIC_GRANTEES = ["http://acs.amazonaws.com/groups/global/AllUsers", "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"];
const PUBLIC_MEMBERS = ["allUsers", "allAuthenticatedUsers"];

function blocksEverything(block: PolicyResource | undefined): string[] {
  if (!block) return [...BLOCK_FLAGS];
  return BLOCK_FLAGS.filter((flag) => block.props[flag] !== true);
}

function publicAcl(acl: unknown, grants: any[] | undefined): string | undefined {
  if (typeof acl === "string" && PUBLIC_CANNED_ACLS.includes(acl)) return `the canned ACL "${acl}"`;
  const grant = (grants ?? []).find((g) => PUBLIC_GRANTEES.includes(g?.grantee?.uri ?? g?.uri));
  return grant ? `an ACL grant to ${grant.grantee?.uri ?? grant.uri}` : undefined;
}

export const storageNoPublicAccess = stackRule(
  {
    name: "storage-no-public-access",
    description:
      "No bucket can be made public. Every S3 bucket has a public-access block with all four settings on (or the account-level block does) and no public ACL; every Cloud Storage bucket enforces public access prevention and grants nothing to allUsers or allAuthenticatedUsers; every Azure storage account forbids anonymous blob access and no container is public. Model artifacts and training data are the company's, never the internet's.",
    severity: "critical",
    framework: cisAws("2.1.4 Ensure that S3 Buckets are configured with 'Block public access (bucket settings)'; CIS GCP 5.1 (buckets not anonymously or publicly accessible); CIS Azure: public access level disabled on storage accounts"),
    clouds: ["aws", "gcp", "azure"],
    enforcementLevel: "mandatory",
    remediationSteps:
      "AWS: add aws.s3.BucketPublicAccessBlock for the bucket with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets true, and drop public ACLs. GCP: set publicAccessPrevention \"enforced\" and remove allUsers/allAuthenticatedUsers members. Azure: set allowBlobPublicAccess false and publicAccess \"None\" on containers.",
  },
  (args, report) => {
    const resources = args.resources;
    const accountBlock = resources.find((r) => r.isType(aws.s3.AccountPublicAccessBlock) && blocksEverything(r).length === 0);
    checkEach(s3Buckets(resources), report, (bucket, reportHere) => {
      // Inline acl/grants are outputs the provider computes when the program leaves them unset: unknown means unset.
      const acl = publicAcl(peek(() => bucket.props.acl), peek(() => bucket.props.grants));
      if (acl) reportHere(`${bucketLabel(bucket)} is public through ${acl}: remove it (ACLs should be disabled altogether)`);
      for (const aclResource of bucketCompanions(resources, bucket, aws.s3.BucketAcl, aws.s3.BucketAclV2)) {
        const problem = publicAcl(aclResource.props.acl, aclResource.props.accessControlPolicy?.grants);
        if (problem) reportHere(`${bucketLabel(bucket)} is public through ${problem} in "${aclResource.name}"`);
      }
      if (accountBlock) return;
      const blocks = bucketCompanions(resources, bucket, aws.s3.BucketPublicAccessBlock);
      if (blocks.length === 0) {
        reportHere(`${bucketLabel(bucket)} has no public-access block: add aws.s3.BucketPublicAccessBlock with all four settings true`);
        return;
      }
      const off = blocksEverything(blocks[0]);
      if (off.length) reportHere(`the public-access block of ${bucketLabel(bucket)} leaves ${off.join(", ")} off: all four must be true`);
    });

    checkEach(resources.filter((r) => r.isType(gcp.storageBucket)), report, (bucket, reportHere) => {
      const prevention = peek(() => bucket.props.publicAccessPrevention);
      if (prevention !== "enforced") {
        reportHere(`Cloud Storage bucket "${bucket.name}" does not enforce public access prevention (got ${JSON.stringify(prevention ?? "inherited")}): set publicAccessPrevention "enforced"`);
      }
      for (const binding of referencing(resources, [gcp.bucketIamBinding, gcp.bucketIamMember], "bucket", bucket, ["id", "name"])) {
        const members: string[] = [binding.props.member, ...(binding.props.members ?? [])].filter(Boolean);
        const open = members.filter((m) => PUBLIC_MEMBERS.includes(m));
        if (open.length) reportHere(`Cloud Storage bucket "${bucket.name}" grants ${binding.props.role} to ${open.join(", ")} in "${binding.name}"`);
      }
    });

    checkEach(resources.filter((r) => r.isType(azure.storageAccount)), report, (account, reportHere) => {
      if (account.props.allowBlobPublicAccess !== false) reportHere(`storage account "${account.name}" allows anonymous blob access: set allowBlobPublicAccess false`);
    });
    checkEach(resources.filter((r) => r.isType(azure.blobContainer)), report, (container, reportHere) => {
      const access = container.props.publicAccess;
      if (access !== undefined && access !== "None") reportHere(`blob container "${container.name}" is public (publicAccess "${access}"): set publicAccess "None"`);
    });
  },
);
