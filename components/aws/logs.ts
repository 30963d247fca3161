import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Tags } from "../contracts";
import { ServiceAccountRole } from "./identity";

export interface ClusterLogsArgs {
  clusterName: string;
  oidcProviderArn: pulumi.Input<string>;
  oidcIssuer: pulumi.Input<string>;
  /** The log shipper's Kubernetes service account (Fluent Bit): the only one its role trusts. */
  serviceAccount: { namespace: string; name: string };
  retentionDays: number;
  /** The foundation's CloudWatch Logs key (its policy admits this account's log groups). */
  kmsKeyArn: pulumi.Input<string>;
  tags: Tags;
}

/**
 * Where the pods' logs go on AWS: a CloudWatch log group created first (the profile's retention, the
 * logs KMS key, instead of CloudWatch's defaults of never expiring and unencrypted), and an IRSA role
 * that only the log shipper's service account can assume, allowed to write streams into that group
 * only. The shipper itself (Fluent Bit) runs in the cluster: components/kubernetes/log-shipping.ts.
 */
export class ClusterLogs extends pulumi.ComponentResource {
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly logGroupName: pulumi.Output<string>;
  readonly roleArn: pulumi.Output<string>;

  constructor(name: string, args: ClusterLogsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:aws:ClusterLogs", name, {}, opts);
    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-containers`,
      { name: containerLogGroupName(args.clusterName), retentionInDays: args.retentionDays, kmsKeyId: args.kmsKeyArn, tags: { ...args.tags, Name: `${name}-containers` } },
      { parent: this },
    );
    this.logGroupName = this.logGroup.name;
    const role = new ServiceAccountRole(
      `${name}-shipper-irsa`,
      {
        oidcProviderArn: args.oidcProviderArn,
        oidcIssuer: args.oidcIssuer,
        namespace: args.serviceAccount.namespace,
        serviceAccountName: args.serviceAccount.name,
        policy: this.logGroup.arn.apply(logWriterPolicy),
        tags: args.tags,
      },
      { parent: this },
    );
    this.roleArn = role.roleArn;
    this.registerOutputs({ logGroupName: this.logGroupName, roleArn: this.roleArn });
  }
}

/** The group every container's log lines land in (one stream per container, named by Fluent Bit). */
export function containerLogGroupName(clusterName: string): string {
  return `/aws/eks/${clusterName}/containers`;
}

/**
 * Write streams into one log group, nothing else: no CreateLogGroup (the group exists, with its
 * retention and key), no other group, no reading.
 */
export function logWriterPolicy(logGroupArn: string): string {
  const group = logGroupArn.replace(/:\*$/, "");
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Sid: "WriteContainerLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"], Resource: [group, `${group}:*`] },
    ],
  });
}
