import * as aws from "@pulumi/aws";
import { validateResourceOfType } from "@pulumi/policy";
import { resourceRule } from "../support/define";
import { platform } from "../support/frameworks";
import { gcp } from "../support/types";

const message = (name: string) =>
  `bucket "${name}" sets forceDestroy: a replacement or \`pulumi destroy\` would delete every object (every model artifact) with it; leave forceDestroy unset in this environment`;

export const storageNoForceDestroy = resourceRule(
  {
    name: "storage-no-force-destroy",
    description:
      "Production buckets are never force-destroyed: forceDestroy stays off, so deleting or replacing a bucket fails while it still holds objects instead of silently deleting every model artifact. Development stacks may allow it (the environment file disables this rule there).",
    severity: "high",
    framework: platform("Production data is never deleted by a deployment"),
    clouds: ["aws", "gcp"],
    enforcementLevel: "advisory",
    remediationSteps: "Remove forceDestroy (or set it false) on the bucket in production; empty a bucket deliberately before deleting it.",
  },
  [
    validateResourceOfType(aws.s3.Bucket, (bucket, args, report) => {
      if (bucket.forceDestroy === true) report(message(args.name));
    }),
    validateResourceOfType(aws.s3.BucketV2, (bucket, args, report) => {
      if (bucket.forceDestroy === true) report(message(args.name));
    }),
    validateResourceOfType(gcp.storageBucket, (bucket, args, report) => {
      if (bucket.forceDestroy === true) report(message(args.name));
    }),
  ],
);
