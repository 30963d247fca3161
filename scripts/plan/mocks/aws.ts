/** What AWS computes for the AWS foundation's resources and invokes, for Pulumi's mocks. */
import type { ProviderMocks } from "./types";

export const ACCOUNT_ID = "123456789012";
export const DEPLOYER_SESSION_ARN = `arn:aws:sts::${ACCOUNT_ID}:assumed-role/platform-deployer/offline-deploy`;
const arn = (service: string, resource: string, region = "us-west-2") => `arn:aws:${service}:${region}:${ACCOUNT_ID}:${resource}`;

/** The caller identity answered by `aws:index/getCallerIdentity`; a test may stand in another deployer. */
export function callerIdentity(sessionArn: string = DEPLOYER_SESSION_ARN): Record<string, unknown> {
  return { accountId: ACCOUNT_ID, arn: sessionArn, userId: `AROAOFFLINE:${sessionArn.split("/").pop()}` };
}

export const awsMocks: ProviderMocks = {
  computedOutputs: {
    "aws:ec2/vpc:Vpc": (a) => ({ arn: arn("ec2", `vpc/${a.name}`), defaultSecurityGroupId: `sg-default-${a.name}` }),
    "aws:s3/bucketV2:BucketV2": (a) => ({ bucket: a.inputs.bucket ?? `${a.name}-bucket`, arn: `arn:aws:s3:::${a.inputs.bucket ?? `${a.name}-bucket`}` }),
    "aws:s3/bucket:Bucket": (a) => {
      // With bucketPrefix, S3 names the bucket <prefix><26 generated characters>.
      const bucket = a.inputs.bucket ?? (a.inputs.bucketPrefix ? `${a.inputs.bucketPrefix}20260101000000000000000001` : `${a.name}-bucket`);
      return { bucket, arn: `arn:aws:s3:::${bucket}`, bucketRegionalDomainName: `${bucket}.s3.us-west-2.amazonaws.com` };
    },
    "aws:kms/key:Key": (a) => ({ arn: arn("kms", `key/${a.name}`), keyId: `${a.name}-key-id` }),
    "aws:iam/role:Role": (a) => ({ arn: `arn:aws:iam::${ACCOUNT_ID}:role/${a.inputs.name ?? a.name}`, name: a.inputs.name ?? a.name }),
    "aws:iam/policy:Policy": (a) => ({ arn: `arn:aws:iam::${ACCOUNT_ID}:policy/${a.inputs.name ?? a.name}` }),
    "aws:eks/cluster:Cluster": (a) => ({
      arn: arn("eks", `cluster/${a.inputs.name ?? a.name}`),
      name: a.inputs.name ?? a.name,
      endpoint: `https://${a.name}.gr7.us-west-2.eks.amazonaws.com`,
      certificateAuthority: { data: Buffer.from("offline-ca").toString("base64") },
      identities: [{ oidcs: [{ issuer: `https://oidc.eks.us-west-2.amazonaws.com/id/${a.name.toUpperCase()}` }] }],
      vpcConfig: { ...(a.inputs.vpcConfig ?? {}), clusterSecurityGroupId: `sg-cluster-${a.name}` },
    }),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": (a) => ({
      arn: `arn:aws:iam::${ACCOUNT_ID}:oidc-provider/${String(a.inputs.url ?? "").replace(/^https:\/\//, "")}`,
    }),
    "aws:rds/instance:Instance": (a) => {
      const identifier = a.inputs.identifier ?? a.name;
      const address = `${identifier}.abcdefghijkl.us-west-2.rds.amazonaws.com`;
      return { identifier, address, endpoint: `${address}:${a.inputs.port ?? 5432}`, port: a.inputs.port ?? 5432, arn: arn("rds", `db:${identifier}`) };
    },
    "aws:ec2/launchTemplate:LaunchTemplate": (a) => ({ arn: arn("ec2", `launch-template/lt-${a.name}`), latestVersion: 1, defaultVersion: 1 }),
    "aws:ec2/securityGroup:SecurityGroup": (a) => ({ arn: arn("ec2", `security-group/sg-${a.name}`) }),
    "aws:eks/addon:Addon": (a) => ({ arn: arn("eks", `addon/${a.inputs.clusterName}/${a.inputs.addonName}/offline`), addonVersion: a.inputs.addonVersion ?? "v0.0.0-eksbuild.1" }),
    "aws:cloudwatch/logGroup:LogGroup": (a) => ({ arn: arn("logs", `log-group:${a.inputs.name ?? a.name}`) }),
    "aws:sqs/queue:Queue": (a) => ({ arn: arn("sqs", a.inputs.name ?? a.name), url: `https://sqs.us-west-2.amazonaws.com/${ACCOUNT_ID}/${a.inputs.name ?? a.name}` }),
    "aws:cloudwatch/eventRule:EventRule": (a) => ({ arn: arn("events", `rule/${a.inputs.name ?? a.name}`), name: a.inputs.name ?? a.name }),
    "aws:iam/instanceProfile:InstanceProfile": (a) => ({ arn: `arn:aws:iam::${ACCOUNT_ID}:instance-profile/${a.inputs.name ?? a.name}`, name: a.inputs.name ?? a.name }),
  },

  /** Resource ids that the cloud derives from the resource (an S3 bucket's id is its name). */
  computedIds: {
    "aws:s3/bucket:Bucket": (state) => state.bucket,
    "aws:s3/bucketV2:BucketV2": (state) => state.bucket,
  },

  invokeResults: {
    "aws:index/getAvailabilityZones:getAvailabilityZones": () => ({ names: ["us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"], zoneIds: ["usw2-az1", "usw2-az2", "usw2-az3", "usw2-az4"] }),
    // The deployer, as in CI: a session of an assumed role.
    "aws:index/getCallerIdentity:getCallerIdentity": () => callerIdentity(),
    // An assumed role's session resolves to its role (with its path), as IAM reports it.
    "aws:iam/getSessionContext:getSessionContext": (a) => {
      const m = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/(.+)$/.exec(String(a.inputs.arn));
      if (!m) return { arn: a.inputs.arn, issuerArn: a.inputs.arn, issuerId: "", issuerName: "", sessionName: "" };
      return { arn: a.inputs.arn, issuerArn: `arn:${m[1]}:iam::${m[2]}:role/${m[3]}`, issuerId: "AROAOFFLINE", issuerName: m[3], sessionName: m[4] };
    },
    "aws:index/getPartition:getPartition": () => ({ partition: "aws", dnsSuffix: "amazonaws.com" }),
    "aws:index/getRegion:getRegion": () => ({ name: "us-west-2", region: "us-west-2" }),
    // EKS publishes a default build of each add-on per Kubernetes version: the stand-in version names both.
    "aws:eks/getAddonVersion:getAddonVersion": (a) => ({
      addonName: a.inputs.addonName,
      kubernetesVersion: a.inputs.kubernetesVersion,
      version: `v${a.inputs.kubernetesVersion}.0-eksbuild.1`,
    }),
  },
};
