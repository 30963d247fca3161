import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Tags } from "../contracts";

/** A customer-managed KMS key with yearly rotation; `policy` only where a service principal needs it. */
export function createKmsKey(name: string, description: string, tags: Tags, opts: pulumi.CustomResourceOptions, policy?: pulumi.Input<string>): aws.kms.Key {
  const key = new aws.kms.Key(name, { description, enableKeyRotation: true, deletionWindowInDays: 30, policy, tags: { ...tags, Name: name } }, opts);
  new aws.kms.Alias(`${name}-alias`, { name: `alias/${name}`, targetKeyId: key.keyId }, opts);
  return key;
}

/** Key policy for CloudWatch Logs: the account administers the key; the Logs service of this region may use it for this account's log groups only. */
export function logsKeyPolicy(opts: pulumi.InvokeOutputOptions): pulumi.Output<string> {
  const identity = aws.getCallerIdentityOutput({}, opts);
  const region = aws.getRegionOutput({}, opts);
  const partition = aws.getPartitionOutput({}, opts);
  return pulumi.all([identity.accountId, region.region, partition.partition]).apply(([account, regionName, part]) =>
    JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        { Sid: "AccountAdministers", Effect: "Allow", Principal: { AWS: `arn:${part}:iam::${account}:root` }, Action: "kms:*", Resource: "*" },
        {
          Sid: "CloudWatchLogsUse",
          Effect: "Allow",
          Principal: { Service: `logs.${regionName}.amazonaws.com` },
          Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
          Resource: "*",
          Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:${part}:logs:${regionName}:${account}:log-group:*` } },
        },
      ],
    }),
  );
}
