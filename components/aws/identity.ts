import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Tags } from "../contracts";

export interface ServiceAccountRoleArgs {
  oidcProviderArn: pulumi.Input<string>;
  /** The issuer URL of the cluster (https://oidc.eks...). */
  oidcIssuer: pulumi.Input<string>;
  namespace: string;
  serviceAccountName: string;
  /** An inline policy document (JSON) of what the service account may do. */
  policy?: pulumi.Input<string>;
  /** AWS-managed policies for add-ons whose needs AWS maintains (the EBS CSI driver). */
  managedPolicyArns?: string[];
  tags: Tags;
}

/** An IRSA role that exactly one Kubernetes service account can assume, with exactly the given permissions. */
export class ServiceAccountRole extends pulumi.ComponentResource {
  readonly roleArn: pulumi.Output<string>;
  readonly subject: string;

  constructor(name: string, args: ServiceAccountRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:aws:ServiceAccountRole", name, {}, opts);
    const parent = { parent: this };
    this.subject = serviceAccountSubject(args.namespace, args.serviceAccountName);
    const role = new aws.iam.Role(
      `${name}-role`,
      {
        description: `Assumed by ${this.subject} through IRSA`,
        assumeRolePolicy: pulumi.all([args.oidcProviderArn, args.oidcIssuer]).apply(([arn, issuer]) => irsaTrustPolicy(arn, issuer, this.subject)),
        maxSessionDuration: 3600,
        tags: { ...args.tags, Name: `${name}-role` },
      },
      parent,
    );
    const attached: pulumi.Resource[] = [];
    if (args.policy !== undefined) attached.push(new aws.iam.RolePolicy(`${name}-policy`, { role: role.id, policy: args.policy }, parent));
    for (const policyArn of args.managedPolicyArns ?? []) {
      attached.push(new aws.iam.RolePolicyAttachment(`${name}-${policyArn.split("/").pop()}`, { role: role.name, policyArn }, parent));
    }
    // Consumers get the ARN only once its permissions are attached, so a pod never starts with a bare role.
    this.roleArn = pulumi.all([role.arn, ...attached.map((r) => r.urn)]).apply(([arn]) => arn);
    this.registerOutputs({ roleArn: this.roleArn });
  }
}

export function serviceAccountSubject(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/** Trust for one service account of one cluster: the issuer's `sub` and `aud` both pinned (StringEquals, no wildcards). */
export function irsaTrustPolicy(providerArn: string, issuerUrl: string, subject: string): string {
  const issuer = issuerUrl.replace(/^https:\/\//, "");
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: providerArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: { StringEquals: { [`${issuer}:sub`]: subject, [`${issuer}:aud`]: "sts.amazonaws.com" } },
      },
    ],
  });
}

/**
 * Read and write under one key prefix of one bucket, and the bucket's KMS key only when S3 calls it
 * on the role's behalf (kms:ViaService): the artifact store's objects, nothing else in the account.
 */
export function prefixAccessPolicy(bucketArn: string, prefix: string, kmsKeyArn: string, region: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Sid: "ListPrefix", Effect: "Allow", Action: "s3:ListBucket", Resource: bucketArn, Condition: { StringLike: { "s3:prefix": [prefix, `${prefix}/*`] } } },
      {
        Sid: "ReadWritePrefix",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
        Resource: `${bucketArn}/${prefix}/*`,
      },
      {
        Sid: "UseBucketKeyThroughS3",
        Effect: "Allow",
        Action: ["kms:Decrypt", "kms:GenerateDataKey"],
        Resource: kmsKeyArn,
        Condition: { StringEquals: { "kms:ViaService": `s3.${region}.amazonaws.com` } },
      },
    ],
  });
}
