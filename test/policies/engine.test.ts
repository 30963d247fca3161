/**
 * The offline engine behaves like the Pulumi policy engine, and the pack's rules describe themselves
 * as the README and Pulumi Cloud need. Ad-hoc rule objects here exercise the engine alone.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import * as aws from "@pulumi/aws";
import { validateResourceOfType, validateStackResourcesOfType, type PolicyResource, type ResourceValidationPolicy, type StackValidationPolicy } from "@pulumi/policy";
import { allRules, rulesByArea } from "../../policies/rules";
import { workloadsImagePinned } from "../../policies/rules/workloads/image-pinned";
import { PolicyConfigError, resolveConfig } from "../../scripts/plan/policy-engine";
import { check, dependsOn, DEPLOYMENT, goodDeployment, messages, resource, runPolicies, UNKNOWN } from "../helpers/policy-engine";

const ROOT = path.resolve(__dirname, "..", "..");

const probe = (overrides: Partial<ResourceValidationPolicy> = {}): ResourceValidationPolicy => ({
  name: "probe-rule",
  description: "Reports every S3 bucket.",
  enforcementLevel: "advisory",
  configSchema: { properties: { limit: { type: "integer", minimum: 1, default: 3 }, names: { type: "array", items: { type: "string" }, default: [] }, mode: { type: "string", enum: ["a", "b"] } } },
  validateResource: validateResourceOfType(aws.s3.Bucket, (_bucket, args, report) => report(`limit ${args.getConfig<{ limit: number }>().limit}`)),
  ...overrides,
});
const bucket = () => resource("aws:s3/bucket:Bucket", { bucketPrefix: "b-" }, { name: "b" });

describe("configuration, as the CLI resolves --policy-pack-config", () => {
  test("levels: the policy's entry beats all, which beats the rule's own level, which beats the pack's", () => {
    const rules = [probe(), probe({ name: "no-level", enforcementLevel: undefined })];
    const level = (config: Record<string, unknown>, packLevel: "advisory" | "mandatory" = "advisory") => Object.fromEntries([...resolveConfig(rules, config, packLevel)].map(([k, v]) => [k, v.level]));
    expect(level({})).toEqual({ "probe-rule": "advisory", "no-level": "advisory" });
    expect(level({}, "mandatory")).toEqual({ "probe-rule": "advisory", "no-level": "mandatory" });
    expect(level({ all: "mandatory" })).toEqual({ "probe-rule": "mandatory", "no-level": "mandatory" });
    expect(level({ all: "mandatory", "probe-rule": { enforcementLevel: "disabled" } })).toEqual({ "probe-rule": "disabled", "no-level": "mandatory" });
    expect(level({ "probe-rule": "remediate" })["probe-rule"]).toBe("mandatory");
  });

  test("parameters: schema defaults, then the file's values (an entry without a level keeps the level)", () => {
    const resolved = resolveConfig([probe()], { all: "mandatory", "probe-rule": { limit: 9 } }).get("probe-rule")!;
    expect(resolved).toEqual({ level: "mandatory", params: { limit: 9, names: [] } });
  });

  test("bad config is refused with every problem named, like the CLI's schema validation", () => {
    const attempt = () => resolveConfig([probe()], { "probe-rule": { limit: 0, names: ["ok", 3], mode: "c" }, typo: "mandatory", all: "strict" });
    expect(attempt).toThrow(PolicyConfigError);
    expect(attempt).toThrow(/all: "strict" is not a valid enforcement level/);
    expect(() => resolveConfig([probe()], { "probe-rule": { limit: 0, names: ["ok", 3], mode: "c" } })).toThrow(/probe-rule: limit: must be >= 1, got 0[\s\S]*names\[1\]: expected string, got 3[\s\S]*mode: must be one of "a", "b"/);
    expect(() => resolveConfig([probe()], { "probe-rile": { limit: 2 } })).toThrow(/probe-rile: no policy of this name in the pack/);
    expect(() => resolveConfig([probe()], { "probe-rule": 3 })).toThrow(/must be a string or object/);
  });

  test("the environment files are valid for the pack", () => {
    for (const env of ["dev", "prod"]) {
      const config = JSON.parse(readFileSync(path.join(ROOT, "policies", "config", `${env}.json`), "utf8"));
      expect(() => resolveConfig(allRules, config)).not.toThrow();
    }
  });

  test("prod makes every rule mandatory; dev keeps the critical ones mandatory and the rest advisory or off", () => {
    const prod = resolveConfig(allRules, JSON.parse(readFileSync(path.join(ROOT, "policies", "config", "prod.json"), "utf8")));
    expect([...prod.values()].every((p) => p.level === "mandatory")).toBe(true);
    const dev = resolveConfig(allRules, JSON.parse(readFileSync(path.join(ROOT, "policies", "config", "dev.json"), "utf8")));
    const mandatoryInDev = [...dev].filter(([, p]) => p.level === "mandatory").map(([n]) => n);
    const critical = allRules.filter((r) => r.severity === "critical").map((r) => r.name);
    expect(mandatoryInDev.sort()).toEqual(critical.sort());
    expect(prod.get("database-backup-retention")!.params.minimumDays).toBe(14);
    expect(prod.get("ml-challenger-traffic-share")!.params.maxSharePercent).toBe(10);
  });
});

describe("running rules", () => {
  test("a disabled rule does not run; other types are skipped (validateResourceOfType)", async () => {
    expect(await runPolicies([probe()], [bucket(), resource("aws:ec2/vpc:Vpc", {})])).toEqual([expect.objectContaining({ policy: "probe-rule", level: "advisory", message: "limit 3" })]);
    expect(await runPolicies([probe()], [bucket()], { config: { "probe-rule": "disabled" } })).toEqual([]);
  });

  test("notApplicable is not a violation", async () => {
    const rule = probe({ validateResource: (args) => args.notApplicable("never") });
    expect(await runPolicies([rule], [bucket()])).toEqual([]);
  });

  test("a value unknown during preview ends an unguarded rule with the engine's advisory note", async () => {
    const rule = probe({ enforcementLevel: "mandatory", validateResource: (args, report) => report(`prefix ${args.props.bucketPrefix}`) });
    const violations = await runPolicies([rule], [resource("aws:s3/bucket:Bucket", { bucketPrefix: UNKNOWN })]);
    expect(violations).toEqual([expect.objectContaining({ level: "advisory", message: "can't run policy 'probe-rule' from policy pack 'mlops-platform@v0.1.0' during preview: string value at .bucketPrefix can't be known during preview" })]);
  });

  test("the pack's rules turn such a value into a violation at their own level", async () => {
    const violations = await check(workloadsImagePinned, [resource(DEPLOYMENT, goodDeployment({ container: { image: UNKNOWN } }))]);
    expect(violations).toEqual([expect.objectContaining({ level: "mandatory", message: expect.stringMatching(/^cannot be verified until .*\.image is known/) })]);
  });

  test("a rule that throws fails the run with the policy's name", async () => {
    const rule = probe({ validateResource: () => { throw new Error("boom"); } });
    await expect(runPolicies([rule], [bucket()])).rejects.toThrow(/Error validating resource with policy 'probe-rule'.*boom/s);
  });

  test("resource policies get opts (protect), the explicit provider and stack tags", async () => {
    const seen: unknown[] = [];
    const rule = probe({
      validateResource: (args) => {
        if (args.type !== "aws:s3/bucket:Bucket") return;
        seen.push(args.opts.protect, args.provider?.type, args.provider?.props.region, args.stackTags.get("environment"), args.isType(aws.s3.Bucket), args.asType(aws.rds.Instance));
      },
    });
    const provider = resource("pulumi:providers:aws", { region: "eu-west-1" }, { name: "eu" });
    const b = resource("aws:s3/bucket:Bucket", {}, { name: "b", protect: true, provider: `${provider.urn}::eu-id` });
    await runPolicies([rule], [provider, b], { stackTags: { environment: "prod" } });
    expect(seen).toEqual([true, "pulumi:providers:aws", "eu-west-1", "prod", true, undefined]);
  });

  test("a resource on the default provider sees the stack's <package>: config as the provider's inputs", async () => {
    let provider: any;
    const rule = probe({ validateResource: (args) => void (provider = { type: args.provider?.type, name: args.provider?.name, region: args.provider?.props.region }) });
    await runPolicies([rule], [bucket()], { stack: { project: "mlops-platform", stack: "prod", config: { "aws:region": "us-west-2", "mlops:environment": "prod" } } });
    expect(provider).toEqual({ type: "pulumi:providers:aws", name: expect.stringMatching(/^default_\d+_\d+_\d+/), region: "us-west-2" });
  });

  test("stack policies see outputs with parent, dependencies and property dependencies resolved to resources", async () => {
    let view: any;
    const stackRule: StackValidationPolicy = {
      name: "probe-stack",
      description: "Looks at the graph.",
      enforcementLevel: "mandatory",
      validateStack: validateStackResourcesOfType(aws.s3.BucketPublicAccessBlock, (blocks, args, report) => {
        const r = args.resources[0] as PolicyResource;
        view = { bucket: r.propertyDependencies.bucket.map((d) => d.name), deps: r.dependencies.map((d) => d.name), parent: r.parent?.name, id: blocks[0].bucket };
        report("seen", r.urn);
      }),
    };
    const component = resource("mlops:aws:ArtifactStore", {}, { name: "store", custom: false, id: undefined });
    const b = resource("aws:s3/bucket:Bucket", {}, { name: "b", parent: component.urn });
    const block = dependsOn(resource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", { bucket: "b-123" }, { name: "pab", parent: component.urn }), "bucket", b);
    const violations = await runPolicies([stackRule], [block, component, b]);
    expect(view).toEqual({ bucket: ["b"], deps: ["b"], parent: "store", id: "b-123" });
    expect(violations).toEqual([{ policy: "probe-stack", resource: block.urn, message: "seen", level: "mandatory", severity: undefined }]);
    // validateStackResourcesOfType's type filter: no block in the stack, the rule does not run.
    view = undefined;
    expect(await runPolicies([stackRule], [b])).toEqual([]);
    expect(view).toBeUndefined();
  });

  test("getConfig hands each validation its own copy of the parameters", async () => {
    const limits: number[] = [];
    const rule = probe({
      validateResource: (args) => {
        const config = args.getConfig<{ limit: number }>();
        limits.push(config.limit);
        config.limit = 100;
      },
    });
    await runPolicies([rule], [bucket(), bucket()]);
    expect(limits).toEqual([3, 3]);
  });
});

describe("the pack", () => {
  test("every rule is named <area>-<what> in lower case and describes itself for the README and Pulumi Cloud", () => {
    for (const [area, rules] of Object.entries(rulesByArea)) {
      for (const rule of rules) {
        const at = rule.name;
        expect([at, rule.name]).toEqual([at, expect.stringMatching(new RegExp(`^${area}-[a-z0-9]+(-[a-z0-9]+)*$`))]);
        expect([at, rule.description]).toEqual([at, expect.stringMatching(/^[A-Z][^]{60,}\.$/)]);
        expect([at, rule.severity]).toEqual([at, expect.stringMatching(/^(low|medium|high|critical)$/)]);
        expect([at, rule.framework]).toEqual([at, { name: expect.any(String), version: expect.any(String), reference: expect.any(String), specification: expect.stringMatching(/\S{3,}/) }]);
        expect([at, rule.remediationSteps]).toEqual([at, expect.stringMatching(/\S{10,}/)]);
        expect([at, rule.tags]).toEqual([at, expect.arrayContaining([expect.stringMatching(/^(aws|gcp|azure|kubernetes)$/)])]);
        expect([at, Object.keys(rule.configSchema?.properties ?? {})]).toEqual([at, expect.not.arrayContaining(["enforcementLevel"])]);
      }
    }
    const names = allRules.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).not.toContain("all");
  });

  test("rules across AWS, GCP, Azure and Kubernetes", () => {
    const clouds = new Set(allRules.flatMap((r) => r.tags ?? []));
    for (const c of ["aws", "gcp", "azure", "kubernetes"]) expect(clouds).toContain(c);
  });

  test("policies/index.ts only builds the PolicyPack from the rule arrays, and no test imports it", () => {
    const index = readFileSync(path.join(ROOT, "policies", "index.ts"), "utf8");
    const imports = [...index.matchAll(/from "([^"]+)"/g)].map((m) => m[1]);
    expect(imports.sort()).toEqual(["./rules", "@pulumi/policy"]);
    expect(index).toMatch(/new PolicyPack\("mlops-platform", \{\s*policies: allRules,\s*\/\/[^\n]*\n\s*enforcementLevel: "advisory"/);
    expect(JSON.parse(readFileSync(path.join(ROOT, "policies", "package.json"), "utf8")).version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(readFileSync(path.join(ROOT, "policies", "PulumiPolicy.yaml"), "utf8")).toMatch(/^runtime: nodejs$/m);
  });
});

test("messages helper keeps the order of the engine", async () => {
  expect(messages(await runPolicies([probe()], [bucket(), bucket()]))).toEqual(["limit 3", "limit 3"]);
});
