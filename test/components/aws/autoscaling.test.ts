/**
 * Node autoscaling on EKS (Karpenter), under Pulumi's mocks with the real dev and prod stacks: the
 * controller and its IRSA identity, the node identity, the interruption queue and its EventBridge rules,
 * the discovery tags, the EC2NodeClass and NodePool from the environment profile, and a GPU NodePool
 * from config (prod with an override), every custom resource valid against Karpenter's v1 CRD schema.
 */
import { ConfigError } from "../../../infra/config";
import { PROFILES } from "../../../infra/profiles";
import { AWS_PROFILES } from "../../../infra/clouds/aws/settings";
import {
  INTERRUPTION_EVENTS,
  KARPENTER_CHART,
  KARPENTER_DISCOVERY_TAG,
  KARPENTER_NAMESPACE,
  KARPENTER_NODE_POLICIES,
} from "../../../components/aws/karpenter";
import { isGpuInstanceType } from "../../../components/aws/instance-types";
import { GPU_NODE_LABELS, NVIDIA_DEVICE_PLUGIN_CHART, NVIDIA_DEVICE_PLUGIN_NAMESPACE } from "../../../components/shared/gpu";
import { runProgram, type DeclaredResource, type PlanResult } from "../../../scripts/plan/harness";
import { ofType, one, plan } from "../../helpers/plan";
import { toObjects, type K8sObject } from "../kubernetes/support/plan";
import { validateObjects } from "../kubernetes/support/schema";
import { documentOf, list, named, standardTags } from "./support";

const T = {
  release: "kubernetes:helm.sh/v3:Release",
  nodePool: "kubernetes:karpenter.sh/v1:NodePool",
  nodeClass: "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  instanceProfile: "aws:iam/instanceProfile:InstanceProfile",
  accessEntry: "aws:eks/accessEntry:AccessEntry",
  oidc: "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
  eks: "aws:eks/cluster:Cluster",
  queue: "aws:sqs/queue:Queue",
  queuePolicy: "aws:sqs/queuePolicy:QueuePolicy",
  rule: "aws:cloudwatch/eventRule:EventRule",
  target: "aws:cloudwatch/eventTarget:EventTarget",
  tag: "aws:ec2/tag:Tag",
  subnet: "aws:ec2/subnet:Subnet",
  nodeGroup: "aws:eks/nodeGroup:NodeGroup",
  namespace: "kubernetes:core/v1:Namespace",
  networkPolicy: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
};

const GPU = { instanceTypes: ["g5.xlarge", "g6.xlarge"], maxGpus: 4 };
const withGpu = (r: PlanResult) => ({ "mlops:cluster": JSON.stringify({ ...JSON.parse(r.config["mlops:cluster"]), gpuNodePool: GPU }) });

const stacks: Record<string, PlanResult> = {};
beforeAll(async () => {
  stacks.dev = await plan({ stack: "dev" });
  stacks.prod = await plan({ stack: "prod" });
  stacks.gpu = await plan({ stack: "prod", overrides: withGpu(stacks.prod) });
});

const karpenterRelease = (r: PlanResult) => ofType(r, T.release).find((x) => x.inputs.name === KARPENTER_CHART.release)!;
const crdRelease = (r: PlanResult) => ofType(r, T.release).find((x) => x.inputs.name === KARPENTER_CHART.crdRelease)!;
const object = (r: PlanResult, type: string, name: string) => {
  const found = ofType(r, type).find((x) => x.inputs.metadata?.name === name);
  if (!found) throw new Error(`no ${type} named ${name}`);
  return found;
};
const controllerRole = (r: PlanResult) => named(r, T.role, "karpenter-controller-irsa-role");
const nodeRole = (r: PlanResult) => named(r, T.role, "karpenter-node-role");
const controllerPolicy = (r: PlanResult) => documentOf(named(r, T.rolePolicy, "karpenter-controller-irsa-policy"));
const statement = (r: PlanResult, sid: string) => controllerPolicy(r).Statement.find((s) => s.Sid === sid)!;
const karpenterObjects = (r: PlanResult): K8sObject[] => toObjects(r.resources).filter((o) => o.apiVersion.startsWith("karpenter."));
const dependsOn = (r: PlanResult, x: DeclaredResource, on: DeclaredResource) => x.dependencies.includes(on.urn);
/** Every resource below a component of this type, at any depth. */
function inside(r: PlanResult, componentType: string): DeclaredResource[] {
  const byUrn = new Map(r.resources.map((x) => [x.urn, x]));
  const below = (x: DeclaredResource): boolean => {
    const parent = x.parent ? byUrn.get(x.parent) : undefined;
    return parent !== undefined && (parent.type === componentType || below(parent));
  };
  return r.resources.filter(below);
}

describe.each(["dev", "prod"])("%s stack: Karpenter", (stack) => {
  let r: PlanResult;
  beforeAll(() => {
    r = stacks[stack];
  });

  test("the controller and its CRDs come from the pinned OCI charts, at one version, in Karpenter's own namespace", () => {
    const controller = karpenterRelease(r).inputs;
    const crds = crdRelease(r).inputs;
    expect(controller).toMatchObject({ chart: KARPENTER_CHART.chart, version: KARPENTER_CHART.version, namespace: KARPENTER_NAMESPACE, skipCrds: true, atomic: true });
    expect(crds).toMatchObject({ chart: KARPENTER_CHART.crdChart, version: KARPENTER_CHART.version, namespace: KARPENTER_NAMESPACE });
    expect(KARPENTER_CHART.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(dependsOn(r, karpenterRelease(r), crdRelease(r))).toBe(true);
  });

  test("the chart's values: the cluster, the interruption queue, the IRSA role on the service account, webhooks off", () => {
    const values = karpenterRelease(r).inputs.values;
    const queue = one(r, T.queue);
    expect(values.settings).toEqual({ clusterName: `mlops-${stack}`, interruptionQueue: queue.inputs.name });
    expect(values.serviceAccount).toEqual({ name: "karpenter", annotations: { "eks.amazonaws.com/role-arn": controllerRole(r).state.arn } });
    expect(values.webhook).toEqual({ enabled: false });
    expect(values.controller.env).toEqual([{ name: "AWS_REGION", value: "us-west-2" }]);
    const profile = AWS_PROFILES[stack as "dev" | "prod"].autoscaling.controller;
    expect(values.replicas).toBe(profile.replicas);
    expect(values.controller.resources).toEqual({
      requests: { cpu: profile.resources.cpuRequest, memory: profile.resources.memoryRequest },
      limits: { cpu: profile.resources.cpuLimit, memory: profile.resources.memoryLimit },
    });
  });

  test("the controller's identity is IRSA, trusted by karpenter:karpenter of this cluster's OIDC provider only (as MLflow's)", () => {
    const trust = documentOf(controllerRole(r), "assumeRolePolicy").Statement;
    expect(trust).toHaveLength(1);
    expect(trust[0]).toMatchObject({ Effect: "Allow", Action: "sts:AssumeRoleWithWebIdentity", Principal: { Federated: one(r, T.oidc).state.arn } });
    const conditions = trust[0].Condition!.StringEquals;
    expect(Object.entries(conditions).find(([k]) => k.endsWith(":sub"))![1]).toBe("system:serviceaccount:karpenter:karpenter");
    expect(Object.entries(conditions).find(([k]) => k.endsWith(":aud"))![1]).toBe("sts.amazonaws.com");
    // One inline policy, no managed policy.
    expect(ofType(r, T.attachment).filter((a) => a.inputs.role === controllerRole(r).state.name)).toEqual([]);
  });

  test("the controller may launch, tag and terminate only this cluster's Karpenter instances, pass only the node role, read only its queue", () => {
    const doc = controllerPolicy(r);
    const actions = doc.Statement.flatMap((s) => list(s.Action));
    expect(actions.some((a) => a === "*" || a.endsWith(":*"))).toBe(false);
    expect(actions.filter((a) => a.startsWith("iam:")).sort()).toEqual(["iam:GetInstanceProfile", "iam:PassRole"]);
    expect(doc.Statement.every((s) => s.Effect === "Allow")).toBe(true);
    const owned = `kubernetes.io/cluster/mlops-${stack}`;

    const launch = statement(r, "AllowScopedEC2InstanceActionsWithTags");
    expect(launch.Condition).toEqual({
      StringEquals: { [`aws:RequestTag/${owned}`]: "owned", "aws:RequestTag/eks:eks-cluster-name": `mlops-${stack}` },
      StringLike: { "aws:RequestTag/karpenter.sh/nodepool": "*" },
    });
    const terminate = statement(r, "AllowScopedDeletion");
    expect(list(terminate.Action).sort()).toEqual(["ec2:DeleteLaunchTemplate", "ec2:TerminateInstances"]);
    expect(terminate.Condition).toEqual({ StringEquals: { [`aws:ResourceTag/${owned}`]: "owned" }, StringLike: { "aws:ResourceTag/karpenter.sh/nodepool": "*" } });
    // Every EC2 write is scoped to the region, and every instance write to the cluster's tags.
    for (const s of doc.Statement.filter((x) => list(x.Action).some((a) => /^ec2:(RunInstances|CreateFleet|CreateTags|TerminateInstances|CreateLaunchTemplate|DeleteLaunchTemplate)$/.test(a)))) {
      for (const resource of list(s.Resource)) expect(resource).toMatch(/^arn:aws:ec2:us-west-2:/);
    }
    expect(statement(r, "AllowRegionalReadActions").Condition).toEqual({ StringEquals: { "aws:RequestedRegion": "us-west-2" } });

    expect(statement(r, "AllowPassingInstanceRole")).toMatchObject({ Action: "iam:PassRole", Resource: nodeRole(r).state.arn, Condition: { StringEquals: { "iam:PassedToService": "ec2.amazonaws.com" } } });
    expect(statement(r, "AllowInterruptionQueueActions")).toMatchObject({ Resource: one(r, T.queue).state.arn });
    expect(list(statement(r, "AllowInterruptionQueueActions").Action).sort()).toEqual(["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"]);
    expect(statement(r, "AllowAPIServerEndpointDiscovery")).toMatchObject({ Action: "eks:DescribeCluster", Resource: one(r, T.eks).state.arn });
  });

  test("interruptions: an encrypted SQS queue fed by the four EventBridge rules, writable by those rules only, TLS only", () => {
    const queue = one(r, T.queue);
    expect(queue.inputs).toMatchObject({ name: `mlops-${stack}-karpenter`, messageRetentionSeconds: 300, sqsManagedSseEnabled: true });
    const rules = ofType(r, T.rule);
    expect(rules.map((x) => JSON.parse(x.inputs.eventPattern)).sort((a, b) => a["detail-type"][0].localeCompare(b["detail-type"][0]))).toEqual(
      INTERRUPTION_EVENTS.map((e) => ({ source: [e.source], "detail-type": [e.detailType] })).sort((a, b) => a["detail-type"][0].localeCompare(b["detail-type"][0])),
    );
    expect(INTERRUPTION_EVENTS.map((e) => e.detailType).sort()).toEqual(
      ["AWS Health Event", "EC2 Instance Rebalance Recommendation", "EC2 Instance State-change Notification", "EC2 Spot Instance Interruption Warning"],
    );
    const targets = ofType(r, T.target);
    expect(targets.map((t) => t.inputs.rule).sort()).toEqual(rules.map((x) => x.state.name).sort());
    for (const t of targets) expect(t.inputs.arn).toBe(queue.state.arn);

    const policy = one(r, T.queuePolicy);
    expect(policy.inputs.queueUrl).toBe(queue.state.url);
    const [allow, deny] = documentOf(policy).Statement;
    expect(allow).toMatchObject({ Effect: "Allow", Principal: { Service: "events.amazonaws.com" }, Action: "sqs:SendMessage", Resource: queue.state.arn });
    expect([...allow.Condition!.ArnEquals["aws:SourceArn"]].sort()).toEqual(rules.map((x) => x.state.arn).sort());
    expect(deny).toMatchObject({ Effect: "Deny", Action: "sqs:*", Condition: { Bool: { "aws:SecureTransport": "false" } } });
  });

  test("nodes: their own role with the worker policies only, a Pulumi-managed instance profile, an EC2_LINUX access entry", () => {
    const role = nodeRole(r);
    expect(documentOf(role, "assumeRolePolicy").Statement).toEqual([{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }]);
    expect(ofType(r, T.attachment).filter((a) => a.inputs.role === role.state.name).map((a) => a.inputs.policyArn).sort()).toEqual(KARPENTER_NODE_POLICIES.map((p) => `arn:aws:iam::aws:policy/${p}`).sort());
    expect(named(r, T.instanceProfile, "karpenter-node-profile").inputs.role).toBe(role.state.name);
    const entry = named(r, T.accessEntry, "karpenter-node-access").inputs;
    expect(entry).toMatchObject({ clusterName: `mlops-${stack}`, principalArn: role.state.arn, type: "EC2_LINUX" });
    // The managed node group stays as the system pool, with its own role.
    expect(one(r, T.nodeGroup).inputs.nodeRoleArn).not.toBe(role.state.arn);
  });

  test("discovery: the private subnets and the cluster security group carry karpenter.sh/discovery, nothing else does", () => {
    const tagged = ofType(r, T.subnet).filter((s) => s.inputs.tags[KARPENTER_DISCOVERY_TAG] !== undefined);
    expect(tagged.map((s) => s.inputs.tags.tier)).toEqual(["private", "private", "private"]);
    for (const s of tagged) expect(s.inputs.tags[KARPENTER_DISCOVERY_TAG]).toBe(`mlops-${stack}`);
    const sgTag = one(r, T.tag).inputs;
    expect(sgTag).toEqual({ resourceId: one(r, T.eks).state.vpcConfig.clusterSecurityGroupId, key: KARPENTER_DISCOVERY_TAG, value: `mlops-${stack}` });
  });

  test("the EC2NodeClass: the instance profile, discovered private subnets and cluster security group, IMDSv2 hop 1, encrypted gp3, standard tags", () => {
    const spec = object(r, T.nodeClass, "default").inputs.spec;
    const discovery = { [KARPENTER_DISCOVERY_TAG]: `mlops-${stack}` };
    expect(spec).toMatchObject({
      instanceProfile: named(r, T.instanceProfile, "karpenter-node-profile").state.name,
      subnetSelectorTerms: [{ tags: discovery }],
      securityGroupSelectorTerms: [{ tags: discovery }],
      amiSelectorTerms: [{ alias: expect.stringMatching(/^al2023@/) }],
      associatePublicIPAddress: false,
      metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 },
      blockDeviceMappings: [{ deviceName: "/dev/xvda", rootVolume: true, ebs: { volumeSize: `${AWS_PROFILES[stack as "dev" | "prod"].cluster.nodeDiskGb}Gi`, volumeType: "gp3", encrypted: true } }],
    });
    expect(spec.role).toBeUndefined();
    expect(spec.tags).toMatchObject(standardTags(r));
  });

  test("the NodePool honours the profile: capacity type, limits, consolidation delay; no GPU pool unless configured", () => {
    const env = stack as "dev" | "prod";
    const spec = object(r, T.nodePool, "default").inputs.spec;
    const req = (key: string) => spec.template.spec.requirements.find((x: any) => x.key === key);
    expect(req("karpenter.sh/capacity-type")).toEqual({ key: "karpenter.sh/capacity-type", operator: "In", values: [PROFILES[env].cluster.spot ? "spot" : "on-demand"] });
    expect(req("karpenter.sh/capacity-type").values).toEqual(env === "dev" ? ["spot"] : ["on-demand"]);
    expect(req("kubernetes.io/arch").values).toEqual(["amd64"]);
    expect(req("karpenter.k8s.aws/instance-category").values).toEqual(AWS_PROFILES[env].autoscaling.instanceCategories);
    const limits = AWS_PROFILES[env].autoscaling.limits;
    expect(spec.limits).toEqual({ cpu: String(limits.cpu), memory: `${limits.memoryGi}Gi` });
    expect(spec.disruption).toMatchObject({ consolidationPolicy: "WhenEmptyOrUnderutilized", consolidateAfter: `${PROFILES[env].cluster.scaleDownAfterMinutes}m` });
    expect(spec.template.spec.nodeClassRef).toEqual({ group: "karpenter.k8s.aws", kind: "EC2NodeClass", name: "default" });
    expect(spec.template.spec.taints).toBeUndefined();
    expect(ofType(r, T.nodePool).map((x) => x.inputs.metadata.name)).toEqual(["default"]);
    expect(ofType(r, T.release).some((x) => x.inputs.name === NVIDIA_DEVICE_PLUGIN_CHART.release)).toBe(false);
  });

  test("order: the CRDs and the controller before the node classes and pools; the controller after its queue policy and the node access entry", () => {
    const release = karpenterRelease(r);
    const pool = object(r, T.nodePool, "default");
    const nodeClass = object(r, T.nodeClass, "default");
    expect(dependsOn(r, pool, release)).toBe(true);
    expect(dependsOn(r, pool, nodeClass)).toBe(true);
    expect(dependsOn(r, nodeClass, release)).toBe(true);
    expect(dependsOn(r, release, one(r, T.queuePolicy))).toBe(true);
    expect(dependsOn(r, release, named(r, T.accessEntry, "karpenter-node-access"))).toBe(true);
  });

  test("Karpenter's namespace: restricted Pod Security, default-deny, and only DNS and HTTPS out", () => {
    const ns = object(r, T.namespace, KARPENTER_NAMESPACE).inputs;
    expect(ns.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    const policies = ofType(r, T.networkPolicy).filter((p) => p.inputs.metadata.namespace === KARPENTER_NAMESPACE).map((p) => p.inputs);
    expect(policies.find((p) => p.metadata.name === "default-deny")!.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    const allow = policies.find((p) => p.metadata.name === "allow-karpenter")!.spec;
    expect(allow.podSelector.matchLabels).toEqual({ "app.kubernetes.io/name": "karpenter", "app.kubernetes.io/instance": "karpenter" });
    expect(allow.policyTypes).toEqual(["Egress"]);
    expect(allow.egress.flatMap((e: any) => e.ports.map((p: any) => `${p.protocol}/${p.port}`)).sort()).toEqual(["TCP/443", "TCP/53", "UDP/53"]);
  });

  test("every AWS resource of the autoscaler carries the standard tags", () => {
    for (const x of [one(r, T.queue), ...ofType(r, T.rule), nodeRole(r), controllerRole(r), named(r, T.instanceProfile, "karpenter-node-profile"), named(r, T.accessEntry, "karpenter-node-access")]) {
      expect({ name: x.name, tags: x.inputs.tags }).toEqual({ name: x.name, tags: expect.objectContaining({ ...standardTags(r), Name: expect.any(String) }) });
    }
  });

  test("NodePool and EC2NodeClass are valid against Karpenter's v1 CRD schema", () => {
    const objects = karpenterObjects(r);
    expect(objects.map((o) => o.kind).sort()).toEqual(["EC2NodeClass", "NodePool"]);
    expect(validateObjects(objects)).toEqual([]);
  });
});

describe("a GPU NodePool from config (prod with mlops:cluster.gpuNodePool)", () => {
  let r: PlanResult;
  beforeAll(() => {
    r = stacks.gpu;
  });

  test("tainted nvidia.com/gpu=present:NoSchedule and labelled, only the configured GPU types, bounded by maxGpus, the profile's capacity type", () => {
    const spec = object(r, T.nodePool, "gpu").inputs.spec;
    expect(spec.template.spec.taints).toEqual([{ key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" }]);
    expect(spec.template.metadata.labels).toEqual(GPU_NODE_LABELS);
    expect(spec.template.spec.requirements).toEqual(
      expect.arrayContaining([
        { key: "node.kubernetes.io/instance-type", operator: "In", values: GPU.instanceTypes },
        { key: "karpenter.sh/capacity-type", operator: "In", values: ["on-demand"] },
      ]),
    );
    expect(spec.limits).toEqual({ "nvidia.com/gpu": "4" });
    expect(spec.template.spec.nodeClassRef.name).toBe("gpu");
    // The general pool still wins for pods that ask for no GPU.
    expect(object(r, T.nodePool, "default").inputs.spec.weight).toBeGreaterThan(spec.weight ?? 0);
  });

  test("its node class has the larger disk; the default pool is untouched", () => {
    expect(object(r, T.nodeClass, "gpu").inputs.spec.blockDeviceMappings[0].ebs.volumeSize).toBe("200Gi");
    expect(object(r, T.nodePool, "default").inputs.spec).toEqual(object(stacks.prod, T.nodePool, "default").inputs.spec);
  });

  test("the NVIDIA device plugin: pinned chart, its own privileged namespace with default-deny and no flow", () => {
    const release = ofType(r, T.release).find((x) => x.inputs.name === NVIDIA_DEVICE_PLUGIN_CHART.release)!;
    expect(release.inputs).toMatchObject({ chart: NVIDIA_DEVICE_PLUGIN_CHART.chart, version: NVIDIA_DEVICE_PLUGIN_CHART.version, repositoryOpts: { repo: NVIDIA_DEVICE_PLUGIN_CHART.repo }, namespace: NVIDIA_DEVICE_PLUGIN_NAMESPACE });
    expect(release.inputs.values.tolerations).toEqual(expect.arrayContaining([{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]));
    expect(object(r, T.namespace, NVIDIA_DEVICE_PLUGIN_NAMESPACE).inputs.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("privileged");
    const policies = ofType(r, T.networkPolicy).filter((p) => p.inputs.metadata.namespace === NVIDIA_DEVICE_PLUGIN_NAMESPACE);
    expect(policies.map((p) => p.inputs.spec)).toEqual([{ podSelector: {}, policyTypes: ["Ingress", "Egress"] }]);
  });

  test("every Kubernetes object of the autoscaler and the device plugin is schema-valid", () => {
    expect(karpenterObjects(r).map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(["EC2NodeClass/default", "EC2NodeClass/gpu", "NodePool/default", "NodePool/gpu"]);
    const objects = toObjects(inside(r, "mlops:aws:Karpenter"));
    expect(objects.map((o) => o.kind).sort()).toEqual(["EC2NodeClass", "EC2NodeClass", "Namespace", "Namespace", "NetworkPolicy", "NetworkPolicy", "NetworkPolicy", "NodePool", "NodePool"]);
    expect(validateObjects(objects)).toEqual([]);
  });

  test("config refuses instance types that are not NVIDIA GPUs, and a pool without a GPU bound", async () => {
    const refused = async (gpuNodePool: object) => {
      try {
        await runProgram({ stack: "dev", overrides: { "mlops:cluster": JSON.stringify({ ...JSON.parse(stacks.dev.config["mlops:cluster"]), gpuNodePool }) } });
      } catch (err) {
        if (err instanceof ConfigError) return err.problems;
        throw err;
      }
      throw new Error("expected a config error");
    };
    expect(await refused({ instanceTypes: ["m6i.xlarge"], maxGpus: 2 })).toEqual(['mlops:cluster.gpuNodePool.instanceTypes: got ["m6i.xlarge"]; expected NVIDIA GPU instance types (g4dn, g5, g6, g6e, p4d, p5...)']);
    expect(await refused({ instanceTypes: ["g5.xlarge"] })).toEqual([expect.stringMatching(/^mlops:cluster\.gpuNodePool\.maxGpus: /)]);
  });

  test("GPU instance families", () => {
    expect(["g4dn.xlarge", "g5.2xlarge", "g5g.xlarge", "g6e.xlarge", "gr6.4xlarge", "p4d.24xlarge", "p5.48xlarge"].every(isGpuInstanceType)).toBe(true);
    expect(["m6i.large", "t3.large", "m7g.xlarge", "c6gn.large", "g4ad.xlarge", "inf2.xlarge", "trn1.2xlarge"].some(isGpuInstanceType)).toBe(false);
  });
});

describe("the schema check catches broken Karpenter objects", () => {
  const base = () => karpenterObjects(stacks.prod).map((o) => JSON.parse(JSON.stringify(o)) as K8sObject);
  const pool = () => base().find((o) => o.kind === "NodePool")!;
  const nodeClass = () => base().find((o) => o.kind === "EC2NodeClass")!;

  test.each([
    ["a NodePool without nodeClassRef", () => ({ ...pool(), spec: { ...pool().spec, template: { spec: { requirements: [] } } } }), /missing required field "nodeClassRef"/],
    ["a misspelled field", () => ({ ...pool(), spec: { ...pool().spec, limit: { cpu: "1" } } }), /unknown field "limit"/],
    ["an 'In' requirement without values", () => { const p = pool(); p.spec.template.spec.requirements[0].values = []; return p; }, /must have a value defined/],
    ["a malformed consolidateAfter", () => { const p = pool(); p.spec.disruption.consolidateAfter = "five minutes"; return p; }, /consolidateAfter/],
    ["a restricted label domain", () => { const p = pool(); p.spec.template.metadata.labels["karpenter.sh/custom"] = "x"; return p; }, /karpenter\.sh" is restricted/],
    ["both role and instanceProfile", () => { const c = nodeClass(); c.spec.role = "KarpenterNodeRole"; return c; }, /exactly one of \['role', 'instanceProfile'\]/],
    ["a restricted tag", () => { const c = nodeClass(); c.spec.tags["kubernetes.io/cluster/x"] = "owned"; return c; }, /is restricted/],
    ["a hop limit out of range", () => { const c = nodeClass(); c.spec.metadataOptions.httpPutResponseHopLimit = 0; return c; }, /httpPutResponseHopLimit: below 1/],
  ])("%s", (_what, broken, expected) => {
    const problems = validateObjects([broken() as K8sObject]);
    expect(problems.map((p) => p.message).join("\n")).toMatch(expected);
  });
});
