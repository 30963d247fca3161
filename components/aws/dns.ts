import * as pulumi from "@pulumi/pulumi";
import type { IngressSupport, Tags } from "../contracts";
import { serviceAccountIdentity } from "../shared/workload-identity";
import { ServiceAccountRole } from "./identity";

/**
 * The ingress controller's Service as a Network Load Balancer. `aws-load-balancer-type: nlb` is the
 * in-tree controller's NLB; `aws-load-balancer-scheme` is what the AWS Load Balancer Controller reads
 * when it is installed (and takes the Service over). Internet-facing NLBs land in the public subnets
 * (`kubernetes.io/role/elb`), internal ones in the private subnets (`kubernetes.io/role/internal-elb`).
 */
export const AWS_INGRESS_ANNOTATIONS: IngressSupport["serviceAnnotations"] = {
  public: {
    "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
    "service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": "true",
  },
  internal: {
    "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
    "service.beta.kubernetes.io/aws-load-balancer-cross-zone-load-balancing-enabled": "true",
  },
};

/** The Route53 zone cert-manager answers DNS-01 challenges in, and the service account it runs as. */
export interface CertManagerDns {
  /** The zone's name, e.g. ml.example.com. */
  zoneName: string;
  /** The hosted zone's id, e.g. Z0123456789ABCDEFGHIJ. */
  zoneId: string;
  serviceAccount: { namespace: string; name: string };
}

export interface Route53Dns01Args extends CertManagerDns {
  oidcProviderArn: pulumi.Input<string>;
  oidcIssuer: pulumi.Input<string>;
  region: pulumi.Input<string>;
  tags: Tags;
}

/**
 * What the foundation tells the ingress: the NLB annotations and, with a zone, cert-manager's DNS-01
 * in Route53 through an IRSA role only its service account can assume.
 */
export function awsIngressSupport(name: string, args: Route53Dns01Args | undefined, opts: pulumi.ComponentResourceOptions): IngressSupport {
  return { exposure: "loadBalancer", serviceAnnotations: AWS_INGRESS_ANNOTATIONS, ...(args ? { dns01: route53Dns01(name, args, opts) } : {}) };
}

function route53Dns01(name: string, args: Route53Dns01Args, opts: pulumi.ComponentResourceOptions): NonNullable<IngressSupport["dns01"]> {
  const role = new ServiceAccountRole(
    name,
    {
      oidcProviderArn: args.oidcProviderArn,
      oidcIssuer: args.oidcIssuer,
      namespace: args.serviceAccount.namespace,
      serviceAccountName: args.serviceAccount.name,
      policy: route53ChallengePolicy(args.zoneId),
      tags: args.tags,
    },
    opts,
  );
  return {
    zone: args.zoneName,
    // The role is named by the service account's annotation (IRSA), not in the solver.
    solver: pulumi.all([role.roleArn, args.region]).apply(([, region]): Record<string, unknown> => ({ route53: { region, hostedZoneID: args.zoneId } })),
    identity: serviceAccountIdentity(args.serviceAccount, role.roleArn.apply((arn): Record<string, string> => ({ "eks.amazonaws.com/role-arn": arn }))),
  };
}

/**
 * cert-manager's Route53 permissions, narrowed: TXT records named `_acme-challenge.*` in one hosted
 * zone, reading that zone's records, and following its own changes. No other zone, no other record.
 */
export function route53ChallengePolicy(zoneId: string): string {
  const zone = `arn:aws:route53:::hostedzone/${zoneId}`;
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Sid: "FollowChanges", Effect: "Allow", Action: "route53:GetChange", Resource: "arn:aws:route53:::change/*" },
      { Sid: "ReadZoneRecords", Effect: "Allow", Action: "route53:ListResourceRecordSets", Resource: zone },
      {
        Sid: "WriteChallengeRecords",
        Effect: "Allow",
        Action: "route53:ChangeResourceRecordSets",
        Resource: zone,
        Condition: {
          "ForAllValues:StringEquals": { "route53:ChangeResourceRecordSetsRecordTypes": ["TXT"] },
          "ForAllValues:StringLike": { "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["_acme-challenge.*"] },
        },
      },
    ],
  });
}
