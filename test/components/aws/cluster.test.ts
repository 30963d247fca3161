import { accessEntrySuffix, buildKubeconfig, Cluster, type ClusterArgs } from "../../../components/aws/cluster";
import { amiTypeFor, isGraviton, mixesArchitectures } from "../../../components/aws/instance-types";
import type { DeclaredResource, PlanResult } from "../../../scripts/plan/harness";
import { ofType, one, plan } from "../../helpers/plan";
import { declare, documentOf, idOf, named, TEST_TAGS } from "./support";

const T = {
  eks: "aws:eks/cluster:Cluster",
  nodeGroup: "aws:eks/nodeGroup:NodeGroup",
  launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
  accessEntry: "aws:eks/accessEntry:AccessEntry",
  accessPolicy: "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
  addon: "aws:eks/addon:Addon",
  oidc: "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
  role: "aws:iam/role:Role",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  kmsKey: "aws:kms/key:Key",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  provider: "pulumi:providers:kubernetes",
  storageClass: "kubernetes:storage.k8s.io/v1:StorageClass",
};
const ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
const VIEWER_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminViewPolicy";

const stacks: Record<string, PlanResult> = {};
beforeAll(async () => {
  stacks.dev = await plan({ stack: "dev" });
  stacks.prod = await plan({ stack: "prod" });
});

const clusterConfig = (r: PlanResult) =>
  JSON.parse(r.config["mlops:cluster"]) as { kubernetesVersion: string; publicAccessCidrs: string[]; adminPrincipalArns: string[]; viewerPrincipalArns?: string[] };
const privateSubnetIds = (r: PlanResult) =>
  ofType(r, "aws:ec2/subnet:Subnet")
    .filter((s) => s.inputs.tags.tier === "private")
    .map(idOf)
    .sort();
const keyOf = (r: PlanResult, arn: string) => ofType(r, T.kmsKey).find((k) => k.state.arn === arn);
const trustOf = (role: DeclaredResource) => documentOf(role, "assumeRolePolicy").Statement;

describe.each(["dev", "prod"])("%s stack: cluster", (stack) => {
  let r: PlanResult;
  let eks: DeclaredResource;
  beforeAll(() => {
    r = stacks[stack];
    eks = one(r, T.eks);
  });

  test("EKS at the configured, currently supported version, named after the stack", () => {
    expect(eks.inputs.name).toBe(`mlops-${stack}`);
    expect(eks.inputs.version).toBe(clusterConfig(r).kubernetesVersion);
    expect(["1.31", "1.32", "1.33", "1.34"]).toContain(eks.inputs.version);
  });

  test("Kubernetes Secrets are envelope-encrypted with a customer-managed key that rotates", () => {
    expect(eks.inputs.encryptionConfig.resources).toEqual(["secrets"]);
    const key = keyOf(r, eks.inputs.encryptionConfig.provider.keyArn);
    expect(key?.inputs).toMatchObject({ enableKeyRotation: true, deletionWindowInDays: 30 });
  });

  test("all five control-plane log types, into a KMS-encrypted log group of the profile's retention created first", () => {
    expect([...eks.inputs.enabledClusterLogTypes].sort()).toEqual(["api", "audit", "authenticator", "controllerManager", "scheduler"]);
    const group = named(r, T.logGroup, "control-plane-logs");
    expect(group.inputs).toMatchObject({ name: `/aws/eks/mlops-${stack}/cluster`, retentionInDays: stack === "prod" ? 90 : 7 });
    expect(keyOf(r, group.inputs.kmsKeyId)?.inputs.enableKeyRotation).toBe(true);
    expect(eks.dependencies).toContain(group.urn);
  });

  test("API endpoint private, and public only from the configured CIDRs (never 0.0.0.0/0)", () => {
    const vpc = eks.inputs.vpcConfig;
    expect(vpc).toMatchObject({ endpointPrivateAccess: true, endpointPublicAccess: true });
    expect(vpc.publicAccessCidrs).toEqual(clusterConfig(r).publicAccessCidrs);
    for (const cidr of vpc.publicAccessCidrs) expect(cidr.endsWith("/0")).toBe(false);
    expect([...vpc.subnetIds].sort()).toEqual(privateSubnetIds(r));
  });

  test("authentication mode API with no implicit creator admin; only the configured admins and viewers get access entries", () => {
    expect(eks.inputs.accessConfig).toEqual({ authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: false });
    const admins = [...clusterConfig(r).adminPrincipalArns].sort();
    const viewers = [...(clusterConfig(r).viewerPrincipalArns ?? [])].sort();
    expect(viewers.length).toBeGreaterThan(0);
    // Nodes join through EC2_LINUX entries (no Kubernetes permissions of their own): only Karpenter's node role has one.
    const nodeEntries = ofType(r, T.accessEntry).filter((e) => e.inputs.type === "EC2_LINUX");
    expect(nodeEntries.map((e) => e.inputs.principalArn)).toEqual([`arn:aws:iam::123456789012:role/mlops-${stack}-karpenter-node-role`]);
    const entries = ofType(r, T.accessEntry).filter((e) => e.inputs.type !== "EC2_LINUX");
    expect(entries.map((e) => e.inputs.principalArn).sort()).toEqual([...admins, ...viewers].sort());
    for (const e of entries) expect(e.inputs).toMatchObject({ clusterName: `mlops-${stack}`, type: "STANDARD" });
    const associations = ofType(r, T.accessPolicy);
    const withPolicy = (policy: string) => associations.filter((a) => a.inputs.policyArn === policy).map((a) => a.inputs.principalArn).sort();
    expect(withPolicy(ADMIN_POLICY)).toEqual(admins);
    expect(withPolicy(VIEWER_POLICY)).toEqual(viewers);
    for (const a of associations) {
      expect(a.inputs).toMatchObject({ clusterName: `mlops-${stack}`, accessScope: { type: "cluster" } });
      const entry = entries.find((e) => e.inputs.principalArn === a.inputs.principalArn)!;
      expect(a.dependencies).toContain(entry.urn);
    }
  });

  test("the node group and every managed add-on follow the cluster's Kubernetes version", () => {
    expect(one(r, T.nodeGroup).inputs.version).toBe(clusterConfig(r).kubernetesVersion);
    const addons = ofType(r, T.addon);
    expect(addons.map((a) => a.inputs.addonName).sort()).toEqual(["aws-ebs-csi-driver", "coredns", "kube-proxy", "metrics-server", "vpc-cni"]);
    // The mocked EKS answers the default build of each add-on for the version it is asked about.
    for (const a of addons) expect(a.inputs.addonVersion).toBe(`v${clusterConfig(r).kubernetesVersion}.0-eksbuild.1`);
  });

  test("an IAM OIDC provider for IRSA on the cluster's own issuer", () => {
    const oidc = one(r, T.oidc).inputs;
    expect(oidc.url).toBe(eks.state.identities[0].oidcs[0].issuer);
    expect(oidc.clientIdLists).toEqual(["sts.amazonaws.com"]);
  });

  test("the control plane's role is trusted by EKS only and holds only the EKS cluster policy", () => {
    const role = ofType(r, T.role).find((x) => x.state.arn === eks.inputs.roleArn)!;
    expect(trustOf(role)).toEqual([{ Effect: "Allow", Principal: { Service: "eks.amazonaws.com" }, Action: "sts:AssumeRole" }]);
    expect(ofType(r, T.attachment).filter((a) => a.inputs.role === role.state.name).map((a) => a.inputs.policyArn)).toEqual(["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"]);
  });

  test("a managed node group in the private subnets with its own EC2 role holding only the node policies", () => {
    const nodes = one(r, T.nodeGroup).inputs;
    expect(nodes.clusterName).toBe(`mlops-${stack}`);
    expect([...nodes.subnetIds].sort()).toEqual(privateSubnetIds(r));
    expect(nodes.amiType).toBe("AL2023_x86_64_STANDARD");
    const role = ofType(r, T.role).find((x) => x.state.arn === nodes.nodeRoleArn)!;
    expect(trustOf(role)).toEqual([{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }]);
    expect(ofType(r, T.attachment).filter((a) => a.inputs.role === role.state.name).map((a) => a.inputs.policyArn).sort()).toEqual([
      "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
      "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
      "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    ]);
  });

  test("nodes come from a launch template with IMDSv2 required (hop limit 1) and encrypted gp3 volumes", () => {
    const template = one(r, T.launchTemplate);
    expect(one(r, T.nodeGroup).inputs.launchTemplate).toEqual({ id: idOf(template), version: String(template.state.latestVersion) });
    expect(template.inputs.metadataOptions).toEqual({ httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 });
    expect(template.inputs.blockDeviceMappings.length).toBeGreaterThan(0);
    for (const d of template.inputs.blockDeviceMappings) expect(d.ebs).toMatchObject({ encrypted: "true", volumeType: "gp3" });
    // No security group of its own: EKS puts the nodes in the cluster security group, the one the database admits.
    expect(template.inputs.vpcSecurityGroupIds).toBeUndefined();
    expect(template.inputs.networkInterfaces).toBeUndefined();
  });

  test("the VPC CNI add-on enforces NetworkPolicies", () => {
    const cni = ofType(r, T.addon).find((a) => a.inputs.addonName === "vpc-cni")!;
    expect(cni.inputs.clusterName).toBe(`mlops-${stack}`);
    expect(JSON.parse(cni.inputs.configurationValues)).toEqual({ enableNetworkPolicy: "true" });
  });

  test("the EBS CSI driver runs as its own IRSA role, and an encrypted gp3 class is the default StorageClass", () => {
    const driver = ofType(r, T.addon).find((a) => a.inputs.addonName === "aws-ebs-csi-driver")!;
    const role = ofType(r, T.role).find((x) => x.state.arn === driver.inputs.serviceAccountRoleArn)!;
    const trust = trustOf(role);
    expect(trust).toHaveLength(1);
    expect(trust[0].Principal.Federated).toBe(one(r, T.oidc).state.arn);
    expect(Object.entries(trust[0].Condition!.StringEquals).find(([k]) => k.endsWith(":sub"))![1]).toBe("system:serviceaccount:kube-system:ebs-csi-controller-sa");
    expect(ofType(r, T.attachment).filter((a) => a.inputs.role === role.state.name).map((a) => a.inputs.policyArn)).toEqual(["arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"]);
    const storageClass = one(r, T.storageClass);
    expect(storageClass.inputs).toMatchObject({
      metadata: { name: "gp3", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
      provisioner: "ebs.csi.aws.com",
      parameters: { type: "gp3", encrypted: "true" },
      volumeBindingMode: "WaitForFirstConsumer",
    });
    expect(storageClass.dependencies).toContain(driver.urn);
  });

  test("a Kubernetes provider from the generated kubeconfig: a secret that authenticates with `aws eks get-token`", () => {
    const provider = one(r, T.provider);
    expect(provider.secretPaths).toContain("kubeconfig");
    const kubeconfig = JSON.parse(provider.inputs.kubeconfig);
    expect(kubeconfig.clusters).toEqual([{ name: `mlops-${stack}`, cluster: { server: eks.state.endpoint, "certificate-authority-data": eks.state.certificateAuthority.data } }]);
    expect(kubeconfig.users).toHaveLength(1);
    expect(kubeconfig.users[0].user).toEqual({
      exec: {
        apiVersion: "client.authentication.k8s.io/v1beta1",
        command: "aws",
        args: ["eks", "get-token", "--cluster-name", `mlops-${stack}`, "--region", "us-west-2", "--output", "json"],
        installHint: expect.stringContaining("AWS CLI"),
        interactiveMode: "Never",
        provideClusterInfo: false,
      },
    });
    expect(r.outputs.kubeconfig).toBe(provider.inputs.kubeconfig);
    expect(r.secretOutputs).toContain("kubeconfig");
  });

  test("the provider waits for the nodes, the admin access entries and the network policy agent", () => {
    const deps = one(r, T.provider).dependencies;
    expect(deps).toContain(one(r, T.nodeGroup).urn);
    for (const a of ofType(r, T.accessPolicy).filter((x) => x.inputs.policyArn === ADMIN_POLICY)) expect(deps).toContain(a.urn);
    expect(deps).toContain(ofType(r, T.addon).find((a) => a.inputs.addonName === "vpc-cni")!.urn);
  });

  test("every Kubernetes object of the stack is declared through that provider", () => {
    const provider = one(r, T.provider);
    const objects = r.resources.filter((x) => x.type.startsWith("kubernetes:") && x.custom);
    expect(objects.length).toBeGreaterThan(0);
    for (const o of objects) expect({ name: o.name, provider: o.provider?.startsWith(`${provider.urn}::`) }).toEqual({ name: o.name, provider: true });
  });
});

describe("node groups per environment", () => {
  test("dev: spot capacity, small and cheap", () => {
    const nodes = one(stacks.dev, T.nodeGroup).inputs;
    expect(nodes.capacityType).toBe("SPOT");
    expect(nodes.scalingConfig).toEqual({ minSize: 1, maxSize: 3, desiredSize: 2 });
  });

  test("prod: on-demand only, at least one node per AZ", () => {
    const nodes = one(stacks.prod, T.nodeGroup).inputs;
    expect(nodes.capacityType).toBe("ON_DEMAND");
    expect(nodes.scalingConfig.minSize).toBeGreaterThanOrEqual(3);
    expect(nodes.scalingConfig.desiredSize).toBeGreaterThanOrEqual(nodes.scalingConfig.minSize);
  });
});

describe("the Cluster component with arguments the stacks do not use", () => {
  const base: ClusterArgs = {
    clusterName: "c",
    kubernetesVersion: "1.34",
    vpcId: "vpc-1",
    privateSubnetIds: ["subnet-a", "subnet-b"],
    endpointPublicAccess: true,
    publicAccessCidrs: ["192.0.2.0/24"],
    privateAccessCidrs: [],
    nodeGroup: { capacityType: "ON_DEMAND", instanceTypes: ["m7g.large", "c7g.large"], min: 2, max: 4, desired: 2, diskSizeGb: 80 },
    adminPrincipalArns: ["arn:aws:iam::123456789012:role/a", "arn:aws:iam::123456789012:user/b", "arn:aws:iam::123456789012:role/a"],
    viewerPrincipalArns: [],
    logRetentionDays: 30,
    logsKmsKeyArn: "arn:aws:kms:us-west-2:123456789012:key/logs",
    tags: TEST_TAGS,
  };
  let r: PlanResult;
  beforeAll(async () => {
    r = await declare(() => {
      new Cluster("graviton", base);
      new Cluster("noadmins", { ...base, clusterName: "d", adminPrincipalArns: [], nodeGroup: { ...base.nodeGroup, instanceTypes: ["m6i.large"] } });
    });
  });
  const of = (prefix: string, type: string) => ofType(r, type).filter((x) => x.name.startsWith(`${prefix}-`));

  test("Graviton instance types get the arm64 AMI; the disk size and scaling follow the arguments", () => {
    expect(of("graviton", T.nodeGroup)[0].inputs).toMatchObject({ amiType: "AL2023_ARM_64_STANDARD", scalingConfig: { minSize: 2, maxSize: 4, desiredSize: 2 } });
    expect(of("graviton", T.launchTemplate)[0].inputs.blockDeviceMappings[0].ebs.volumeSize).toBe(80);
    expect(of("noadmins", T.nodeGroup)[0].inputs.amiType).toBe("AL2023_x86_64_STANDARD");
  });

  test("one access entry per distinct principal, named after the principal; none when none is given", () => {
    expect(of("graviton", T.accessEntry).map((e) => e.name).sort()).toEqual(["graviton-admin-role-a", "graviton-admin-user-b"]);
    expect(of("graviton", T.nodeGroup)[0].inputs.version).toBe("1.34");
    expect(of("noadmins", T.accessEntry)).toEqual([]);
    expect(of("noadmins", T.accessPolicy)).toEqual([]);
  });

  test("the control-plane log group takes the given retention and key", () => {
    expect(of("graviton", T.logGroup)[0].inputs).toMatchObject({ name: "/aws/eks/c/cluster", retentionInDays: 30, kmsKeyId: "arn:aws:kms:us-west-2:123456789012:key/logs" });
  });
});

describe("helpers", () => {
  test("isGraviton reads the attribute letters after the generation", () => {
    for (const t of ["m7g.large", "c6gn.xlarge", "t4g.medium", "x2gd.large", "g5g.xlarge", "r8gd.large", "im4gn.large"]) expect([t, isGraviton(t)]).toEqual([t, true]);
    for (const t of ["m6i.xlarge", "t3.large", "t3a.large", "g4dn.xlarge", "p4d.24xlarge", "inf2.xlarge", "c5n.large", "m5dn.large"]) expect([t, isGraviton(t)]).toEqual([t, false]);
  });

  test("amiTypeFor refuses a node group mixing architectures", () => {
    expect(mixesArchitectures(["m7g.large", "m6i.large"])).toBe(true);
    expect(() => amiTypeFor(["m7g.large", "m6i.large"])).toThrow("node instance types m7g.large, m6i.large mix arm64 and x86_64: one node group runs one AMI");
  });

  test("access entry names are stable per principal, with or without a path", () => {
    expect(accessEntrySuffix("arn:aws:iam::123456789012:role/platform-admins")).toBe("role-platform-admins");
    expect(accessEntrySuffix("arn:aws:iam::123456789012:role/team/ops.admin")).toBe("role-team-ops-admin");
  });

  test("the kubeconfig holds no credential, only the exec command", () => {
    const text = buildKubeconfig("c", "https://x.eks.amazonaws.com", "Q0E=", "eu-west-1");
    expect(text).not.toMatch(/"token"|password|client-key|aws_secret/i);
    expect(JSON.parse(text).users[0].user.exec.args).toEqual(["eks", "get-token", "--cluster-name", "c", "--region", "eu-west-1", "--output", "json"]);
  });

  test("the kubeconfig's token comes from the stack's AWS profile when one is configured", () => {
    const exec = JSON.parse(buildKubeconfig("c", "https://x.eks.amazonaws.com", "Q0E=", "eu-west-1", "mlops-prod")).users[0].user.exec;
    expect(exec.env).toEqual([{ name: "AWS_PROFILE", value: "mlops-prod" }]);
    expect(JSON.parse(buildKubeconfig("c", "https://x", "Q0E=", "eu-west-1")).users[0].user.exec.env).toBeUndefined();
  });
});
