import { ConfigError, parseConfig } from "../../infra/config";
import { runProgram } from "../../scripts/plan/harness";

/** Runs the dev stack with one change and returns the config error's problems (and what was declared). */
async function problemsOf(change: { overrides?: Record<string, string>; remove?: string[] }): Promise<{ problems: string[]; declared: number }> {
  let declared = 0;
  try {
    const result = await runProgram({ stack: "dev", ...change });
    declared = result.resources.length;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { problems: err.problems, declared };
  }
  throw new Error(`expected a config error, but the program declared ${declared} resources`);
}

const ADMIN = "arn:aws:iam::123456789012:role/mlops-deploy-dev";
/** A cluster key with the required admin, so each test sees only the problem it is about. */
const cluster = (c: object) => ({ "mlops:cluster": JSON.stringify({ adminPrincipalArns: [ADMIN], ...c }) });

test("a missing required key names the key and what is allowed, and nothing is declared", async () => {
  const { problems, declared } = await problemsOf({ remove: ["mlops:environment"] });
  expect(problems).toEqual(['mlops:environment: missing (required); expected one of "dev", "prod"']);
  expect(declared).toBe(0);
});

test("a wrong enum names the key, the value and the allowed values", async () => {
  const { problems } = await problemsOf({ overrides: { "mlops:environment": "staging" } });
  expect(problems).toEqual(['mlops:environment: got "staging"; expected one of "dev", "prod"']);
});

test("an unsupported cloud is refused with the clouds that exist", async () => {
  const { problems } = await problemsOf({ overrides: { "mlops:cloud": "openstack" } });
  expect(problems).toEqual(['mlops:cloud: got "openstack"; expected one of "aws", "gcp", "azure", "local"']);
});

test("each cloud validates its own keys: another cloud's key is named, with what the chosen cloud expects", async () => {
  // The dev stack's AWS cluster keys under GCP: adminPrincipalArns is no GCP key.
  const { problems } = await problemsOf({ overrides: { "mlops:cloud": "gcp" } });
  expect([...problems].sort()).toEqual([
    'mlops:cluster: unknown field(s) "adminPrincipalArns", "viewerPrincipalArns"',
    'mlops:network: unknown field(s) "vpcCidr", "availabilityZoneCount"',
  ]);
});

test("an Azure stack needs its admin groups and refuses an API server open to all in prod", async () => {
  const azure = { "mlops:cloud": "azure", "mlops:environment": "prod", "mlops:models": "[]", "mlops:network": "{}", "mlops:cluster": JSON.stringify({ publicAccessCidrs: ["0.0.0.0/0"] }) };
  const { problems } = await problemsOf({ overrides: azure });
  expect(problems).toEqual(["mlops:cluster.adminGroupObjectIds: missing (required); required (array)"]);
  const withGroups = await problemsOf({ overrides: { ...azure, "mlops:cluster": JSON.stringify({ publicAccessCidrs: ["0.0.0.0/0"], adminGroupObjectIds: ["3f2b9c1e-7d4a-4e8b-9a61-2c5d8e0f1a11"] }) } });
  expect(withGroups.problems).toEqual(['mlops:cluster.publicAccessCidrs: got ["0.0.0.0/0"]; 0.0.0.0/0 is not allowed in prod: list the CIDRs of your offices or VPN']);
});

test("an invalid CIDR names the nested key and the value", async () => {
  const { problems } = await problemsOf({ overrides: { "mlops:network": JSON.stringify({ vpcCidr: "10.0.0.300/16" }) } });
  expect(problems).toEqual(['mlops:network.vpcCidr: got "10.0.0.300/16"; expected an IPv4 CIDR block such as 10.0.0.0/16']);
});

test("a CIDR with host bits set is refused", async () => {
  const { problems } = await problemsOf({ overrides: cluster({ publicAccessCidrs: ["203.0.113.7/24"] }) });
  expect(problems).toEqual(['mlops:cluster.publicAccessCidrs.0: got "203.0.113.7/24"; expected an IPv4 CIDR block such as 10.0.0.0/16']);
});

test("0.0.0.0/0 on the API endpoint is refused in prod", async () => {
  const { problems } = await problemsOf({ overrides: { "mlops:environment": "prod", ...cluster({ publicAccessCidrs: ["0.0.0.0/0"] }) } });
  expect(problems).toContain(
    'mlops:cluster.publicAccessCidrs: got ["0.0.0.0/0"]; 0.0.0.0/0 is not allowed in prod: list the CIDRs of your offices or VPN',
  );
});

test("prod refuses fewer than 14 days of database backups", async () => {
  const { problems } = await problemsOf({ overrides: { "mlops:environment": "prod", "mlops:database": JSON.stringify({ backupRetentionDays: 7 }) } });
  expect(problems).toContain("mlops:database.backupRetentionDays: got 7; prod keeps database backups at least 14 days");
});

test("required tags and unknown keys are reported together", async () => {
  const { problems } = await problemsOf({ overrides: { "mlops:tags": JSON.stringify({ team: "ml" }), "mlops:colour": "blue" } });
  expect(problems).toEqual([
    expect.stringMatching(/^mlops:colour: unknown key; known keys: mlops:environment, /),
    'mlops:tags: got {"team":"ml"}; must include the tags team and cost-center',
  ]);
});

test("an unknown field inside a structured key is named", async () => {
  const { problems } = await problemsOf({ overrides: { "mlops:network": JSON.stringify({ vpcCidr: "10.0.0.0/16", azs: 3 }) } });
  expect(problems).toEqual(['mlops:network: unknown field(s) "azs"']);
});

test("a missing required field inside a structured key is named with its path", async () => {
  const { problems } = await problemsOf({ overrides: { "mlops:cluster": JSON.stringify({ kubernetesVersion: "1.33", publicAccessCidrs: ["10.0.0.0/8"] }) } });
  expect(problems).toEqual(["mlops:cluster.adminPrincipalArns: missing (required); required (array)"]);
  const open = await problemsOf({ overrides: cluster({ kubernetesVersion: "1.33" }) });
  expect(open.problems).toEqual(["mlops:cluster.publicAccessCidrs: missing (required); the public endpoint is on: list the CIDRs allowed to reach it (or set endpointPublicAccess: false)"]);
});

test("a Kubernetes version EKS no longer supports is refused with the ones it does", async () => {
  const { problems } = await problemsOf({ overrides: cluster({ publicAccessCidrs: ["10.0.0.0/8"], kubernetesVersion: "1.29" }) });
  expect(problems).toEqual(['mlops:cluster.kubernetesVersion: got "1.29"; expected one of "1.31", "1.32", "1.33", "1.34"']);
});

test("a VPC block too small to cut into the subnets is refused", async () => {
  const { problems } = await problemsOf({ overrides: { "mlops:network": JSON.stringify({ vpcCidr: "10.0.0.0/24" }) } });
  expect(problems).toEqual(['mlops:network.vpcCidr: got "10.0.0.0/24"; expected a VPC block from /16 to /20 (it is cut into 16 subnets)']);
});

test("a node group mixing Graviton and x86 instance types is refused", async () => {
  const { problems } = await problemsOf({ overrides: cluster({ publicAccessCidrs: ["10.0.0.0/8"], nodeInstanceTypes: ["m7g.large", "m6i.large"] }) });
  expect(problems).toEqual(['mlops:cluster.nodeInstanceTypes: got ["m7g.large","m6i.large"]; mixes arm64 (Graviton) and x86_64 instance types: one node group runs one AMI']);
});

test("node counts out of order are refused", async () => {
  const { problems } = await problemsOf({ overrides: cluster({ publicAccessCidrs: ["10.0.0.0/8"], nodeCount: { min: 3, max: 2, desired: 2 } }) });
  expect(problems).toEqual(['mlops:cluster.nodeCount: got {"min":3,"max":2,"desired":2}; expected min <= desired <= max']);
});

test("an admin that is an STS session rather than its IAM role is refused", async () => {
  const { problems } = await problemsOf({ overrides: cluster({ publicAccessCidrs: ["10.0.0.0/8"], adminPrincipalArns: ["arn:aws:sts::123456789012:assumed-role/ops/alice"] }) });
  expect(problems).toEqual(['mlops:cluster.adminPrincipalArns.0: got "arn:aws:sts::123456789012:assumed-role/ops/alice"; expected an IAM role or user ARN']);
});

test("a PostgreSQL major version written as a YAML number is read as that version", () => {
  const base = { environment: "dev", cloud: "aws", tags: { team: "t", "cost-center": "c" }, cluster: { publicAccessCidrs: ["10.0.0.0/8"], adminPrincipalArns: [ADMIN] }, images: { registry: "r.example.com", tag: "1" } };
  expect(parseConfig({ ...base, database: { engineVersion: 17 } }).database.engineVersion).toBe("17");
  expect(() => parseConfig({ ...base, database: { engineVersion: 14 } })).toThrow('mlops:database.engineVersion: got 14; expected one of "15", "16", "17"');
});

describe("mlops:models: one grammar of registry URIs, partial resources, the monitor's settings", () => {
  const base = { environment: "dev", cloud: "aws", tags: { team: "t", "cost-center": "c" }, cluster: { publicAccessCidrs: ["10.0.0.0/8"], adminPrincipalArns: [ADMIN] }, images: { registry: "r.example.com", tag: "1" } };
  const withModels = (...models: object[]) => parseConfig({ ...base, models });
  const refused = (model: object) => {
    try {
      withModels(model);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    throw new Error("expected a config error");
  };

  test("resources: what a stack leaves out stays unset (the profile fills it), no schema default", () => {
    expect(withModels({ name: "m", uri: "models:/m@champion", resources: { cpuLimit: "4" } }).models[0].resources).toEqual({ cpuLimit: "4" });
    expect(refused({ name: "m", uri: "models:/m@champion", resources: { cpu: "4" } })).toEqual(['mlops:models.0.resources: unknown field(s) "cpu"']);
  });

  test.each([
    ["models:/m", "expected a registry URI models:/<name>@<alias> or models:/<name>/<version>"],
    ["models:/m@", "expected a registry URI"],
    ["models:/m/v2", "expected a registry URI"],
    ["models:/my model@champion", "expected a registry URI"],
    ["runs:/abc/model", "expected a registry URI"],
  ])("a model URI outside the registry grammar is refused: %s", (uri, message) => {
    const problems = refused({ name: "m", uri });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(`mlops:models.0.uri: got "${uri}"; ${message}`);
  });

  test("the same grammar holds for the challenger and for a registry reference profile (a file path stays allowed)", () => {
    expect(refused({ name: "m", uri: "models:/m@champion", challenger: { uri: "models:/m@" } })[0]).toContain("mlops:models.0.challenger.uri");
    expect(refused({ name: "m", uri: "models:/m@champion", drift: { referenceUri: "models:/m" } })[0]).toContain(
      'mlops:models.0.drift.referenceUri: got "models:/m"; expected a registry URI models:/<name>@<alias> or models:/<name>/<version>, or a file path',
    );
    expect(withModels({ name: "m", uri: "models:/m/3", drift: { referenceUri: "/data/reference.json" } }).models[0].drift.referenceUri).toBe("/data/reference.json");
  });

  test("a URI that loads another registered model than the one the workload names is refused (what the policy pack would refuse)", () => {
    expect(refused({ name: "fraud-detector", uri: "models:/churn-predictor@champion" })).toEqual([
      'mlops:models.0.uri: got "models:/churn-predictor@champion"; the URI must name the model it serves (models:/<name>@<alias> with <name> = name), as MODEL_NAME and the policy pack require',
    ]);
  });

  test("quality: the monitor's fields and rules; unset means the monitor's defaults", () => {
    expect(withModels({ name: "m", uri: "models:/m@champion" }).models[0].quality).toBeUndefined();
    expect(withModels({ name: "m", uri: "models:/m@champion", quality: { scoreOutput: null, positiveClass: true } }).models[0].quality).toEqual({ scoreOutput: null, positiveClass: true });
    expect(refused({ name: "m", uri: "models:/m@champion", quality: { task: "regression", positiveClass: 1 } })).toEqual([
      'mlops:models.0.quality: got {"task":"regression","positiveClass":1}; a regression model has no scoreOutput, scoreIndex or positiveClass',
    ]);
    expect(refused({ name: "m", uri: "models:/m@champion", quality: { task: "ranking" } })).toEqual(['mlops:models.0.quality.task: got "ranking"; expected one of "classification", "regression"']);
    expect(refused({ name: "m", uri: "models:/m@champion", quality: { predictonOutput: "y" } })).toEqual(['mlops:models.0.quality: unknown field(s) "predictonOutput"']);
    expect(refused({ name: "m", uri: "models:/m@champion", quality: { scoreIndex: -1 } })[0]).toContain("mlops:models.0.quality.scoreIndex: got -1");
  });

  test("alert actions name a model's alerts; the platform API's alerts (no model label) are refused", () => {
    expect(withModels({ name: "m", uri: "models:/m@champion", alertActions: [{ alert: "ModelQualityLow", action: "rollback" }] }).models[0].alertActions).toEqual([{ alert: "ModelQualityLow", action: "rollback" }]);
    const problems = refused({ name: "m", uri: "models:/m@champion", alertActions: [{ alert: "PlatformApiDown", action: "rollback" }] });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^mlops:models\.0\.alertActions\.0\.alert: got "PlatformApiDown"; expected one of .*"ModelQualityLow"/);
    expect(problems[0]).not.toContain("PlatformApiErrorRatioHigh");
  });

  test("image tags: one rule, in the config (the component takes validated tags)", () => {
    expect(() => parseConfig({ ...base, images: { registry: "r.example.com", tag: "v1/2" } })).toThrow('mlops:images.tag: got "v1/2"; expected an image tag');
    expect(() => parseConfig({ ...base, images: { registry: "r.example.com", tag: "1", serving: { tag: "latest" } } })).toThrow(
      'mlops:images.serving.tag: got "latest"; "latest" is not a pin',
    );
  });
});
