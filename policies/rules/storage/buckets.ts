import * as aws from "@pulumi/aws";
import type { PolicyResource } from "@pulumi/policy";
import { referencing } from "../support/references";
import type { TypeRef } from "../support/types";

/** S3 buckets, under either name the AWS provider gives the resource. */
export function s3Buckets(resources: PolicyResource[]): PolicyResource[] {
  return resources.filter((r) => r.isType(aws.s3.Bucket) || r.isType(aws.s3.BucketV2));
}

/**
 * The bucket's separate configuration resources of the given types (BucketVersioning and friends
 * point at the bucket through `bucket`, which holds its id; in preview the id is unknown and the
 * property dependency decides).
 */
export function bucketCompanions(resources: PolicyResource[], bucket: PolicyResource, ...types: TypeRef[]): PolicyResource[] {
  return referencing(resources, types, "bucket", bucket, ["id", "bucket"]);
}

export function bucketLabel(bucket: PolicyResource): string {
  return `bucket "${bucket.name}"`;
}
