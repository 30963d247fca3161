import * as aws from "@pulumi/aws";
import { checkEach, peek, stackRule } from "../support/define";
import { cisAws } from "../support/frameworks";
import { azure } from "../support/types";
import { bucketCompanions, bucketLabel, s3Buckets } from "./buckets";

const MODERN_TLS = ["TLS1_2", "TLS1_3"];

function parse(policy: unknown): any {
  if (typeof policy !== "string") return policy;
  try {
    return JSON.parse(policy);
  } catch {
    return undefined;
  }
}

/** True when a statement denies every S3 action to everyone when the request did not use TLS. */
export function deniesInsecureTransport(policy: unknown): boolean {
  const statements = [parse(policy)?.Statement ?? []].flat();
  return statements.some((s: any) => {
    const principal = s?.Principal === "*" || s?.Principal?.AWS === "*" || [s?.Principal?.AWS].flat().includes("*");
    const actions = [s?.Action].flat();
    const condition = s?.Condition?.Bool?.["aws:SecureTransport"];
    return s?.Effect === "Deny" && principal && (actions.includes("s3:*") || actions.includes("*")) && String([condition].flat()[0]) === "false";
  });
}

export const storageTlsOnly = stackRule(
  {
    name: "storage-tls-only",
    description:
      "Buckets refuse requests without TLS. Every S3 bucket has a bucket policy denying s3:* to everyone when aws:SecureTransport is false; every Azure storage account accepts HTTPS only with TLS 1.2 or newer. Cloud Storage serves its APIs over TLS only, so GCS buckets need no setting.",
    severity: "high",
    framework: cisAws("2.1.1 Ensure S3 Bucket Policy is set to deny HTTP requests; CIS Azure: secure transfer required, minimum TLS 1.2"),
    clouds: ["aws", "azure"],
    enforcementLevel: "mandatory",
    remediationSteps:
      "AWS: add aws.s3.BucketPolicy with a statement {Effect: Deny, Principal: \"*\", Action: \"s3:*\", Resource: [bucket ARN, bucket ARN/*], Condition: {Bool: {\"aws:SecureTransport\": \"false\"}}}. Azure: set enableHttpsTrafficOnly true and minimumTlsVersion \"TLS1_2\".",
  },
  (args, report) => {
    const resources = args.resources;
    checkEach(s3Buckets(resources), report, (bucket, reportHere) => {
      // The deprecated inline `policy` is an output the provider computes when the program leaves it unset.
      const policies = [...bucketCompanions(resources, bucket, aws.s3.BucketPolicy).map((p) => p.props.policy), peek(() => bucket.props.policy)].filter(Boolean);
      if (!policies.some(deniesInsecureTransport)) {
        reportHere(`${bucketLabel(bucket)} accepts plain HTTP: add a bucket policy that denies s3:* to "*" when aws:SecureTransport is false`);
      }
    });
    checkEach(resources.filter((r) => r.isType(azure.storageAccount)), report, (account, reportHere) => {
      if (account.props.enableHttpsTrafficOnly === false) reportHere(`storage account "${account.name}" accepts HTTP: set enableHttpsTrafficOnly true`);
      const tls = account.props.minimumTlsVersion;
      if (!MODERN_TLS.includes(tls)) reportHere(`storage account "${account.name}" accepts ${tls ?? "TLS 1.0 (the default)"}: set minimumTlsVersion "TLS1_2"`);
    });
  },
);
