/**
 * Schemas of Karpenter's v1 custom resources (karpenter.sh/v1 NodePool, karpenter.k8s.aws/v1
 * EC2NodeClass), written from the fields of the CRDs the pinned chart installs
 * (pkg/apis/crds/*.yaml of aws/karpenter-provider-aws): kubernetes-models ships no schema for them.
 *
 * The schema check (../schema.ts) uses this module like a kubernetes-models one: `validate()` of the
 * class named after the kind at run time (types, enums, patterns, required fields, unknown fields, and
 * the CEL rules of the CRDs that matter here), and the `I<Kind>` interface for the strict TypeScript check.
 */

type Labels = Record<string, string>;

interface IMeta {
  name: string;
  labels?: Labels;
  annotations?: Labels;
}

type Operator = "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt";
type Effect = "NoSchedule" | "PreferNoSchedule" | "NoExecute";

export interface INodePool {
  apiVersion: "karpenter.sh/v1";
  kind: "NodePool";
  metadata: IMeta;
  spec: {
    template: {
      metadata?: { labels?: Labels; annotations?: Labels };
      spec: {
        nodeClassRef: { group: string; kind: string; name: string };
        requirements: { key: string; operator: Operator; values?: string[]; minValues?: number }[];
        taints?: { key: string; value?: string; effect: Effect }[];
        startupTaints?: { key: string; value?: string; effect: Effect }[];
        expireAfter?: string;
        terminationGracePeriod?: string;
      };
    };
    disruption?: {
      consolidationPolicy?: "WhenEmpty" | "WhenEmptyOrUnderutilized";
      consolidateAfter: string;
      budgets?: { nodes: string; reasons?: ("Underutilized" | "Empty" | "Drifted")[]; schedule?: string; duration?: string }[];
    };
    limits?: Record<string, string | number>;
    weight?: number;
  };
}

export interface IEC2NodeClass {
  apiVersion: "karpenter.k8s.aws/v1";
  kind: "EC2NodeClass";
  metadata: IMeta;
  spec: {
    amiFamily?: "AL2" | "AL2023" | "Bottlerocket" | "Custom" | "Windows2019" | "Windows2022";
    amiSelectorTerms: { alias?: string; id?: string; name?: string; owner?: string; tags?: Labels }[];
    role?: string;
    instanceProfile?: string;
    subnetSelectorTerms: { id?: string; tags?: Labels }[];
    securityGroupSelectorTerms: { id?: string; name?: string; tags?: Labels }[];
    associatePublicIPAddress?: boolean;
    metadataOptions?: { httpEndpoint?: "enabled" | "disabled"; httpProtocolIPv6?: "enabled" | "disabled"; httpPutResponseHopLimit?: number; httpTokens?: "required" | "optional" };
    blockDeviceMappings?: {
      deviceName?: string;
      rootVolume?: boolean;
      ebs?: {
        deleteOnTermination?: boolean;
        encrypted?: boolean;
        iops?: number;
        kmsKeyID?: string;
        snapshotID?: string;
        throughput?: number;
        volumeSize?: string;
        volumeType?: "standard" | "io1" | "io2" | "gp2" | "sc1" | "st1" | "gp3";
      };
    }[];
    instanceStorePolicy?: "RAID0";
    detailedMonitoring?: boolean;
    userData?: string;
    tags?: Labels;
    kubelet?: {
      clusterDNS?: string[];
      maxPods?: number;
      podsPerCore?: number;
      systemReserved?: Labels;
      kubeReserved?: Labels;
      evictionHard?: Labels;
      evictionSoft?: Labels;
      evictionSoftGracePeriod?: Labels;
      evictionMaxPodGracePeriod?: number;
      imageGCHighThresholdPercent?: number;
      imageGCLowThresholdPercent?: number;
      cpuCFSQuota?: boolean;
    };
    context?: string;
  };
}

// A small JSON-schema subset: enough for these two kinds, strict about unknown fields.
type Schema =
  | { type: "object"; properties: Record<string, Schema>; required?: string[] }
  | { type: "map"; values: Schema; maxProperties?: number }
  | { type: "array"; items: Schema; minItems?: number; maxItems?: number }
  | { type: "string"; enum?: readonly string[]; pattern?: RegExp; minLength?: number; maxLength?: number }
  | { type: "integer"; minimum?: number; maximum?: number }
  | { type: "boolean" }
  | { type: "quantity" };

const str = (extra: Omit<Extract<Schema, { type: "string" }>, "type"> = {}): Schema => ({ type: "string", ...extra });
const obj = (properties: Record<string, Schema>, required: string[] = []): Schema => ({ type: "object", properties, required });
const arr = (items: Schema, extra: { minItems?: number; maxItems?: number } = {}): Schema => ({ type: "array", items, ...extra });
const map = (values: Schema = str(), maxProperties?: number): Schema => ({ type: "map", values, maxProperties });
const int = (minimum?: number, maximum?: number): Schema => ({ type: "integer", minimum, maximum });
const bool: Schema = { type: "boolean" };

const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*(\/))?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const DURATION = /^(([0-9]+(s|m|h))+)|(Never)$/;
const QUANTITY = /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const metadata = obj({ name: str({ pattern: DNS_SUBDOMAIN, maxLength: 253 }), labels: map(str({ pattern: LABEL_VALUE, maxLength: 63 })), annotations: map() }, ["name"]);
const taint = obj({ key: str({ pattern: QUALIFIED_NAME, minLength: 1 }), value: str({ pattern: QUALIFIED_NAME }), effect: str({ enum: ["NoSchedule", "PreferNoSchedule", "NoExecute"] }) }, ["key", "effect"]);

const nodePoolSchema = obj(
  {
    apiVersion: str({ enum: ["karpenter.sh/v1"] }),
    kind: str({ enum: ["NodePool"] }),
    metadata,
    spec: obj(
      {
        template: obj(
          {
            metadata: obj({ labels: map(str({ pattern: LABEL_VALUE, maxLength: 63 }), 100), annotations: map() }),
            spec: obj(
              {
                nodeClassRef: obj({ group: str({ pattern: /^[^/]+$/ }), kind: str({ minLength: 1 }), name: str({ minLength: 1 }) }, ["group", "kind", "name"]),
                requirements: arr(
                  obj(
                    {
                      key: str({ pattern: QUALIFIED_NAME, maxLength: 316 }),
                      operator: str({ enum: ["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"] }),
                      values: arr(str({ pattern: LABEL_VALUE, maxLength: 63 })),
                      minValues: int(1, 50),
                    },
                    ["key", "operator"],
                  ),
                  { maxItems: 100 },
                ),
                taints: arr(taint),
                startupTaints: arr(taint),
                expireAfter: str({ pattern: DURATION }),
                terminationGracePeriod: str({ pattern: /^([0-9]+(s|m|h))+$/ }),
              },
              ["nodeClassRef", "requirements"],
            ),
          },
          ["spec"],
        ),
        disruption: obj(
          {
            consolidationPolicy: str({ enum: ["WhenEmpty", "WhenEmptyOrUnderutilized"] }),
            consolidateAfter: str({ pattern: DURATION }),
            budgets: arr(
              obj(
                {
                  nodes: str({ pattern: /^((100|[0-9]{1,2})%|[0-9]+)$/ }),
                  reasons: arr(str({ enum: ["Underutilized", "Empty", "Drifted"] })),
                  schedule: str(),
                  duration: str({ pattern: /^((([0-9]+(h|m))|([0-9]+h[0-9]+m))(0s)?)$/ }),
                },
                ["nodes"],
              ),
              { maxItems: 50 },
            ),
          },
          ["consolidateAfter"],
        ),
        limits: map({ type: "quantity" }),
        weight: int(1, 100),
      },
      ["template"],
    ),
  },
  ["apiVersion", "kind", "metadata", "spec"],
);

const selectorTags = map(str({ minLength: 1 }), 20);
const ec2NodeClassSchema = obj(
  {
    apiVersion: str({ enum: ["karpenter.k8s.aws/v1"] }),
    kind: str({ enum: ["EC2NodeClass"] }),
    metadata,
    spec: obj(
      {
        amiFamily: str({ enum: ["AL2", "AL2023", "Bottlerocket", "Custom", "Windows2019", "Windows2022"] }),
        amiSelectorTerms: arr(obj({ alias: str({ pattern: /^(al2|al2023|bottlerocket|windows2019|windows2022)@.+$/, maxLength: 30 }), id: str({ pattern: /^ami-[0-9a-z]+$/ }), name: str(), owner: str(), tags: selectorTags }), { minItems: 1, maxItems: 30 }),
        role: str({ minLength: 1 }),
        instanceProfile: str({ minLength: 1 }),
        subnetSelectorTerms: arr(obj({ id: str({ pattern: /^subnet-[0-9a-z]+$/ }), tags: selectorTags }), { minItems: 1, maxItems: 30 }),
        securityGroupSelectorTerms: arr(obj({ id: str({ pattern: /^sg-[0-9a-z]+$/ }), name: str(), tags: selectorTags }), { minItems: 1, maxItems: 30 }),
        associatePublicIPAddress: bool,
        metadataOptions: obj({
          httpEndpoint: str({ enum: ["enabled", "disabled"] }),
          httpProtocolIPv6: str({ enum: ["enabled", "disabled"] }),
          httpPutResponseHopLimit: int(1, 64),
          httpTokens: str({ enum: ["required", "optional"] }),
        }),
        blockDeviceMappings: arr(
          obj({
            deviceName: str(),
            rootVolume: bool,
            ebs: obj({
              deleteOnTermination: bool,
              encrypted: bool,
              iops: int(),
              kmsKeyID: str(),
              snapshotID: str(),
              throughput: int(125, 1000),
              volumeSize: str({ pattern: /^[1-9][0-9]{0,4}(Gi|G|Ti|T)$/ }),
              volumeType: str({ enum: ["standard", "io1", "io2", "gp2", "sc1", "st1", "gp3"] }),
            }),
          }),
          { maxItems: 50 },
        ),
        instanceStorePolicy: str({ enum: ["RAID0"] }),
        detailedMonitoring: bool,
        userData: str(),
        tags: map(),
        kubelet: obj({
          clusterDNS: arr(str()),
          maxPods: int(0),
          podsPerCore: int(0),
          systemReserved: map(),
          kubeReserved: map(),
          evictionHard: map(),
          evictionSoft: map(),
          evictionSoftGracePeriod: map(),
          evictionMaxPodGracePeriod: int(),
          imageGCHighThresholdPercent: int(0, 100),
          imageGCLowThresholdPercent: int(0, 100),
          cpuCFSQuota: bool,
        }),
        context: str(),
      },
      ["amiSelectorTerms", "securityGroupSelectorTerms", "subnetSelectorTerms"],
    ),
  },
  ["apiVersion", "kind", "metadata", "spec"],
);

function check(schema: Schema, value: unknown, path: string, problems: string[]): void {
  const at = path || "(root)";
  switch (schema.type) {
    case "object": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return void problems.push(`${at}: expected an object`);
      const record = value as Record<string, unknown>;
      for (const key of schema.required ?? []) if (record[key] === undefined) problems.push(`${at}: missing required field "${key}"`);
      for (const [key, v] of Object.entries(record)) {
        if (v === undefined) continue;
        const sub = schema.properties[key];
        if (!sub) problems.push(`${at}: unknown field "${key}"`);
        else check(sub, v, path ? `${path}.${key}` : key, problems);
      }
      return;
    }
    case "map": {
      if (typeof value !== "object" || value === null || Array.isArray(value)) return void problems.push(`${at}: expected a map`);
      const entries = Object.entries(value as Record<string, unknown>);
      if (schema.maxProperties !== undefined && entries.length > schema.maxProperties) problems.push(`${at}: more than ${schema.maxProperties} entries`);
      for (const [k, v] of entries) check(schema.values, v, `${path}[${JSON.stringify(k)}]`, problems);
      return;
    }
    case "array": {
      if (!Array.isArray(value)) return void problems.push(`${at}: expected an array`);
      if (schema.minItems !== undefined && value.length < schema.minItems) problems.push(`${at}: fewer than ${schema.minItems} items`);
      if (schema.maxItems !== undefined && value.length > schema.maxItems) problems.push(`${at}: more than ${schema.maxItems} items`);
      value.forEach((v, i) => check(schema.items, v, `${path}[${i}]`, problems));
      return;
    }
    case "string": {
      if (typeof value !== "string") return void problems.push(`${at}: expected a string, got ${JSON.stringify(value)}`);
      if (schema.enum && !schema.enum.includes(value)) problems.push(`${at}: ${JSON.stringify(value)} is not one of ${schema.enum.join(", ")}`);
      if (schema.pattern && !schema.pattern.test(value)) problems.push(`${at}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
      if (schema.minLength !== undefined && value.length < schema.minLength) problems.push(`${at}: shorter than ${schema.minLength}`);
      if (schema.maxLength !== undefined && value.length > schema.maxLength) problems.push(`${at}: longer than ${schema.maxLength}`);
      return;
    }
    case "integer": {
      if (typeof value !== "number" || !Number.isInteger(value)) return void problems.push(`${at}: expected an integer, got ${JSON.stringify(value)}`);
      if (schema.minimum !== undefined && value < schema.minimum) problems.push(`${at}: below ${schema.minimum}`);
      if (schema.maximum !== undefined && value > schema.maximum) problems.push(`${at}: above ${schema.maximum}`);
      return;
    }
    case "boolean":
      if (typeof value !== "boolean") problems.push(`${at}: expected a boolean, got ${JSON.stringify(value)}`);
      return;
    case "quantity":
      if (!(typeof value === "number" && Number.isInteger(value)) && !(typeof value === "string" && QUANTITY.test(value))) problems.push(`${at}: ${JSON.stringify(value)} is not a quantity`);
      return;
  }
}

/** A label key's domain (before the slash), for the CRDs' restricted-domain rules. */
const domainOf = (key: string) => (key.includes("/") ? key.split("/")[0] : "");
const ALLOWED_KUBERNETES_IO = ["topology.kubernetes.io/zone", "topology.kubernetes.io/region", "node.kubernetes.io/instance-type", "kubernetes.io/arch", "kubernetes.io/os", "node.kubernetes.io/windows-build"];
const ALLOWED_KARPENTER_SH = ["karpenter.sh/capacity-type", "karpenter.sh/nodepool"];

/** The CRDs' CEL rules on label and requirement keys: restricted domains. */
function restrictedKeyProblem(key: string, where: string, isRequirement: boolean): string | undefined {
  const domain = domainOf(key);
  if (key === "kubernetes.io/hostname") return `${where}: label "kubernetes.io/hostname" is restricted`;
  if (!isRequirement && key === "karpenter.sh/nodepool") return `${where}: label "karpenter.sh/nodepool" is restricted`;
  if (domain.endsWith("kubernetes.io") && !ALLOWED_KUBERNETES_IO.includes(key) && !domain.endsWith("node.kubernetes.io") && !domain.endsWith("node-restriction.kubernetes.io")) return `${where}: label domain "kubernetes.io" is restricted (${key})`;
  if (domain.endsWith("k8s.io") && !domain.endsWith("kops.k8s.io")) return `${where}: label domain "k8s.io" is restricted (${key})`;
  if (domain.endsWith("karpenter.sh") && !ALLOWED_KARPENTER_SH.includes(key)) return `${where}: label domain "karpenter.sh" is restricted (${key})`;
  if (domain.endsWith("karpenter.k8s.aws") && !(key.startsWith("karpenter.k8s.aws/instance-") || key === "karpenter.k8s.aws/ec2nodeclass")) return `${where}: label domain "karpenter.k8s.aws" is restricted (${key})`;
  return undefined;
}

function nodePoolRules(o: any): string[] {
  const problems: string[] = [];
  const spec = o?.spec?.template?.spec ?? {};
  for (const [i, r] of (spec.requirements ?? []).entries()) {
    const where = `spec.template.spec.requirements[${i}]`;
    const values: unknown[] = r.values ?? [];
    if (r.operator === "In" && values.length === 0) problems.push(`${where}: requirements with operator 'In' must have a value defined`);
    if ((r.operator === "Gt" || r.operator === "Lt") && !(values.length === 1 && /^\d+$/.test(String(values[0])))) problems.push(`${where}: operator 'Gt' or 'Lt' must have a single positive integer value`);
    if ((r.operator === "Exists" || r.operator === "DoesNotExist") && values.length > 0) problems.push(`${where}: operator ${r.operator} takes no values`);
    if (r.operator === "In" && r.minValues !== undefined && values.length < r.minValues) problems.push(`${where}: fewer values than minValues`);
    const restricted = typeof r.key === "string" ? restrictedKeyProblem(r.key, where, true) : undefined;
    if (restricted) problems.push(restricted);
  }
  for (const key of Object.keys(o?.spec?.template?.metadata?.labels ?? {})) {
    const restricted = restrictedKeyProblem(key, "spec.template.metadata.labels", false);
    if (restricted) problems.push(restricted);
  }
  for (const [i, b] of (o?.spec?.disruption?.budgets ?? []).entries()) {
    if ((b.schedule === undefined) !== (b.duration === undefined)) problems.push(`spec.disruption.budgets[${i}]: 'schedule' must be set with 'duration'`);
  }
  return problems;
}

const RESTRICTED_TAGS = [/^kubernetes\.io\/cluster/, /^karpenter\.sh\/nodepool$/, /^karpenter\.sh\/managed-by$/, /^karpenter\.sh\/nodeclaim$/, /^karpenter\.k8s\.aws\/ec2nodeclass$/, /^eks:eks-cluster-name$/];

function ec2NodeClassRules(o: any): string[] {
  const problems: string[] = [];
  const spec = o?.spec ?? {};
  if ((spec.role === undefined) === (spec.instanceProfile === undefined)) problems.push("spec: must specify exactly one of ['role', 'instanceProfile']");
  const terms: any[] = spec.amiSelectorTerms ?? [];
  if (terms.some((t) => t.alias !== undefined) && (terms.length !== 1 || Object.keys(terms[0]).length !== 1)) problems.push("spec.amiSelectorTerms: 'alias' is mutually exclusive with other fields and terms");
  if (!terms.some((t) => t.alias !== undefined) && spec.amiFamily === undefined) problems.push("spec: must specify amiFamily if amiSelectorTerms does not contain an alias");
  for (const [field, keys] of [["subnetSelectorTerms", ["tags", "id"]], ["securityGroupSelectorTerms", ["tags", "id", "name"]]] as const) {
    for (const [i, t] of (spec[field] ?? []).entries()) {
      const set = keys.filter((k) => t[k] !== undefined);
      if (set.length === 0) problems.push(`spec.${field}[${i}]: expected at least one of ${keys.join(", ")}`);
      if (t.id !== undefined && set.length > 1) problems.push(`spec.${field}[${i}]: 'id' is mutually exclusive`);
    }
  }
  for (const key of Object.keys(spec.tags ?? {})) if (RESTRICTED_TAGS.some((r) => r.test(key))) problems.push(`spec.tags: tag "${key}" is restricted`);
  const roots = (spec.blockDeviceMappings ?? []).filter((b: any) => b.rootVolume === true);
  if (roots.length > 1) problems.push("spec.blockDeviceMappings: must have only one blockDeviceMappings with rootVolume");
  for (const [i, b] of (spec.blockDeviceMappings ?? []).entries()) {
    if (b.ebs && b.ebs.snapshotID === undefined && b.ebs.volumeSize === undefined) problems.push(`spec.blockDeviceMappings[${i}].ebs: snapshotID or volumeSize must be defined`);
  }
  return problems;
}

function validator(kind: string, schema: Schema, rules: (o: any) => string[]) {
  return class {
    constructor(readonly data: Record<string, unknown>) {}
    validate(): void {
      const problems: string[] = [];
      check(schema, this.data, "", problems);
      problems.push(...rules(this.data));
      if (problems.length) throw new Error(`${kind} is invalid:\n  ${problems.join("\n  ")}`);
    }
  };
}

export const NodePool = validator("NodePool", nodePoolSchema, nodePoolRules);
export const EC2NodeClass = validator("EC2NodeClass", ec2NodeClassSchema, ec2NodeClassRules);
