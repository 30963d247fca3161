import { ArtifactStore } from "../../../components/aws/artifact-store";
import type { DeclaredResource, PlanResult } from "../../../scripts/plan/harness";
import { ofType, one as onlyOne, plan } from "../../helpers/plan";
import { declare, documentOf, idOf, list, TEST_TAGS } from "./support";

const T = {
  bucket: "aws:s3/bucket:Bucket",
  publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  policy: "aws:s3/bucketPolicy:BucketPolicy",
  lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  acl: "aws:s3/bucketAcl:BucketAcl",
  kmsKey: "aws:kms/key:Key",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  oidc: "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
};
/** One resource of a type, Velero's backup store (`mlops-<env>-backups-*`, test/infra/backups-and-logs.test.ts) left out. */
const one = (r: PlanResult, type: string) => onlyOne({ ...r, resources: r.resources.filter((x) => !/-backups-/.test(x.name)) }, type);
const PREFIX_OVERRIDE = { "mlops:artifactStore": JSON.stringify({ prefix: "teams/fraud" }) };

const stacks: Record<string, PlanResult> = {};
beforeAll(async () => {
  stacks.dev = await plan({ stack: "dev" });
  stacks.prod = await plan({ stack: "prod" });
  stacks.prefixed = await plan({ stack: "dev", overrides: PREFIX_OVERRIDE });
});

const mlflowRole = (r: PlanResult) => ofType(r, T.role).find((x) => x.name.includes("mlflow-irsa"))!;
const permissionsOf = (r: PlanResult, role: DeclaredResource) => ofType(r, T.rolePolicy).filter((p) => p.inputs.role === idOf(role));
const actions = (s: { Action: string | string[] }) => list(s.Action);

describe.each(["dev", "prod"])("%s stack: artifact bucket", (stack) => {
  let r: PlanResult;
  let bucket: DeclaredResource;
  const forBucket = (type: string) => {
    const found = one(r, type);
    expect(found.inputs.bucket).toBe(bucket.state.bucket);
    return found.inputs;
  };
  beforeAll(() => {
    r = stacks[stack];
    bucket = one(r, T.bucket);
  });

  test("all four public-access blocks, and ACLs disabled (owner-enforced ownership, no ACL resource)", () => {
    expect(forBucket(T.publicAccess)).toMatchObject({ blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
    expect(forBucket(T.ownership).rule).toEqual({ objectOwnership: "BucketOwnerEnforced" });
    expect(ofType(r, T.acl)).toEqual([]);
  });

  test("versioning enabled", () => {
    expect(forBucket(T.versioning).versioningConfiguration).toEqual({ status: "Enabled" });
  });

  test("SSE-KMS by default with its own rotating key and a bucket key", () => {
    const rules = forBucket(T.encryption).rules;
    expect(rules).toHaveLength(1);
    expect(rules[0].applyServerSideEncryptionByDefault.sseAlgorithm).toBe("aws:kms");
    expect(rules[0].bucketKeyEnabled).toBe(true);
    const key = ofType(r, T.kmsKey).find((k) => k.state.arn === rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId);
    expect(key?.inputs.enableKeyRotation).toBe(true);
  });

  test("a bucket policy that denies every request without TLS, on the bucket and its objects, and grants nothing", () => {
    const policy = one(r, T.policy);
    forBucket(T.policy);
    const doc = documentOf(policy);
    expect(doc.Statement).toEqual([
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucket.state.arn, `${bucket.state.arn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ]);
    // Applied only once public policies are blocked.
    expect(policy.dependencies).toContain(one(r, T.publicAccess).urn);
  });

  test("lifecycle: abort incomplete uploads and expire noncurrent versions, over the whole bucket", () => {
    const rules: any[] = forBucket(T.lifecycle).rules;
    for (const rule of rules) expect(rule).toMatchObject({ status: "Enabled", filter: {} });
    expect(rules.find((x) => x.abortIncompleteMultipartUpload)?.abortIncompleteMultipartUpload.daysAfterInitiation).toBeGreaterThan(0);
    expect(rules.find((x) => x.noncurrentVersionExpiration)?.noncurrentVersionExpiration.noncurrentDays).toBeGreaterThan(0);
  });

  test("the artifact URI is s3://<bucket>/<prefix>", () => {
    expect(r.outputs.artifactStoreUri).toBe(`s3://${bucket.state.bucket}/mlflow`);
  });
});

describe.each(["dev", "prod"])("%s stack: MLflow workload identity", (stack) => {
  let r: PlanResult;
  beforeAll(() => {
    r = stacks[stack];
  });

  test("an IRSA role that only the MLflow service account of this cluster can assume", () => {
    const trust = documentOf(mlflowRole(r), "assumeRolePolicy").Statement;
    expect(trust).toHaveLength(1);
    const [statement] = trust;
    expect(statement).toMatchObject({ Effect: "Allow", Action: "sts:AssumeRoleWithWebIdentity", Principal: { Federated: one(r, T.oidc).state.arn } });
    // Exact matches only: a StringLike with a wildcard would let other service accounts in.
    expect(Object.keys(statement.Condition!)).toEqual(["StringEquals"]);
    const issuer = one(r, T.oidc).inputs.url.replace(/^https:\/\//, "");
    expect(statement.Condition!.StringEquals).toEqual({ [`${issuer}:sub`]: "system:serviceaccount:mlops:mlflow", [`${issuer}:aud`]: "sts.amazonaws.com" });
  });

  test("the workloads' MLflow service account (mlops/mlflow) carries that role", () => {
    const account = ofType(r, "kubernetes:core/v1:ServiceAccount").find((a) => a.inputs.metadata.name === "mlflow" && a.inputs.metadata.namespace === "mlops");
    expect(account?.inputs.metadata.annotations["eks.amazonaws.com/role-arn"]).toBe(mlflowRole(r).state.arn);
    expect(r.outputs.mlflowIdentity).toBe(mlflowRole(r).state.arn);
  });

  test("its only permissions: the artifact prefix of that bucket, and that bucket's key through S3", () => {
    const role = mlflowRole(r);
    expect(ofType(r, T.attachment).filter((a) => a.inputs.role === role.state.name)).toEqual([]);
    const policies = permissionsOf(r, role);
    expect(policies).toHaveLength(1);
    const statements = documentOf(policies[0]).Statement;
    const bucketArn = one(r, T.bucket).state.arn;
    const keyArn = one(r, T.encryption).inputs.rules[0].applyServerSideEncryptionByDefault.kmsMasterKeyId;
    for (const s of statements) {
      expect(s.Effect).toBe("Allow");
      for (const a of actions(s)) expect(a).not.toMatch(/\*/);
      for (const res of list(s.Resource)) expect([bucketArn, `${bucketArn}/mlflow/*`, keyArn]).toContain(res);
    }
    const objects = statements.filter((s) => actions(s).some((a) => a.startsWith("s3:") && a !== "s3:ListBucket"));
    expect(objects.flatMap((s) => list(s.Resource))).toEqual([`${bucketArn}/mlflow/*`]);
    expect(objects.flatMap(actions)).toEqual(expect.arrayContaining(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]));
    const listing = statements.filter((s) => actions(s).includes("s3:ListBucket"));
    expect(listing).toHaveLength(1);
    expect(listing[0].Condition).toEqual({ StringLike: { "s3:prefix": ["mlflow", "mlflow/*"] } });
    const kms = statements.filter((s) => actions(s).some((a) => a.startsWith("kms:")));
    expect(kms).toHaveLength(1);
    expect(kms[0].Resource).toBe(keyArn);
    expect(actions(kms[0]).sort()).toEqual(["kms:Decrypt", "kms:GenerateDataKey"]);
    expect(kms[0].Condition).toEqual({ StringEquals: { "kms:ViaService": "s3.us-west-2.amazonaws.com" } });
  });
});

test("another prefix in config moves the URI and the role's access together", () => {
  const r = stacks.prefixed;
  const bucketArn = one(r, T.bucket).state.arn;
  expect(r.outputs.artifactStoreUri).toBe(`s3://${one(r, T.bucket).state.bucket}/teams/fraud`);
  const statements = documentOf(permissionsOf(r, mlflowRole(r))[0]).Statement;
  expect(statements.find((s) => actions(s).includes("s3:GetObject"))!.Resource).toBe(`${bucketArn}/teams/fraud/*`);
  expect(statements.find((s) => actions(s).includes("s3:ListBucket"))!.Condition).toEqual({ StringLike: { "s3:prefix": ["teams/fraud", "teams/fraud/*"] } });
});

describe("the ArtifactStore component with arguments the stacks do not use", () => {
  let r: PlanResult;
  beforeAll(async () => {
    r = await declare(() => {
      new ArtifactStore("hot", { prefix: "p", forceDestroy: false, noncurrentVersionExpirationDays: 30, abortIncompleteUploadDays: 2, tags: TEST_TAGS });
      new ArtifactStore("cold", { prefix: "p", forceDestroy: true, noncurrentVersionExpirationDays: 5, coldStorageAfterDays: 45, abortIncompleteUploadDays: 1, tags: TEST_TAGS });
    });
  });
  const rulesOf = (name: string) => ofType(r, T.lifecycle).find((l) => l.name.startsWith(`${name}-`))!.inputs.rules as any[];

  test("no cold-storage transition unless asked for; the days follow the arguments", () => {
    expect(rulesOf("hot").some((x) => x.transitions)).toBe(false);
    expect(rulesOf("hot").find((x) => x.noncurrentVersionExpiration).noncurrentVersionExpiration.noncurrentDays).toBe(30);
    expect(rulesOf("cold").find((x) => x.transitions).transitions).toEqual([{ days: 45, storageClass: "GLACIER_IR" }]);
  });

  test("force-destroy follows the argument", () => {
    expect(Object.fromEntries(ofType(r, T.bucket).map((b) => [b.name, b.inputs.forceDestroy]))).toEqual({ "hot-bucket": false, "cold-bucket": true });
  });
});
