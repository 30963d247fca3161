import { parse } from "yaml";
import { readFileSync } from "node:fs";
import path from "node:path";
import { planOnFakeFoundation, planStack, type K8sObject } from "./support/plan";
import { runtimeValidate, schemaKubernetesVersion, strictValidate, validateObjects } from "./support/schema";

const clusterVersion = (stack: string) => String(parse(readFileSync(path.resolve(__dirname, `../../../Pulumi.${stack}.yaml`), "utf8")).config["mlops:cluster"].kubernetesVersion);
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));

describe("every rendered Kubernetes object validates against the schema of the cluster's version", () => {
  test("the schemas kubernetes-models ships are those of the stacks' Kubernetes version", () => {
    // If a stack moves to another minor version, kubernetes-models must follow (or this fails).
    expect(schemaKubernetesVersion()).toBe(clusterVersion("dev"));
    expect(schemaKubernetesVersion()).toBe(clusterVersion("prod"));
  });

  test.each(["dev", "prod"])("%s: no object is rejected (types, enums, required and unknown fields)", async (stack) => {
    const { objects } = await planStack(stack);
    expect(objects.length).toBeGreaterThan(40);
    expect(validateObjects(objects)).toEqual([]);
  });

  test("on a non-AWS foundation too (the components need nothing but the contract)", async () => {
    const { objects, resources } = await planOnFakeFoundation("prod");
    expect(resources.some((r) => r.type.startsWith("aws:"))).toBe(false);
    expect(validateObjects(objects)).toEqual([]);
  });

  describe("the validation is strict: it catches what a cluster would reject or silently drop", () => {
    let deployment: K8sObject;
    beforeAll(async () => {
      deployment = (await planStack("dev")).objects.find((o) => o.kind === "Deployment")!;
    });

    test("a misspelled field fails, named (kubernetes-models alone lets it through)", () => {
      const bad = clone(deployment);
      bad.spec.template.spec.containers[0].readinessProbee = bad.spec.template.spec.containers[0].readinessProbe;
      expect(runtimeValidate([bad])).toEqual([]);
      const problems = strictValidate([bad]);
      expect(problems).toHaveLength(1);
      expect(problems[0].message).toContain("readinessProbee");
      expect(problems[0].object).toBe(`Deployment mlops/${deployment.metadata.name}`);
    });

    test("a misspelled field deep in a CRD object fails", async () => {
      const sm = clone((await planStack("dev")).objects.find((o) => o.kind === "ServiceMonitor")!);
      sm.spec.endpoints[0].intervall = "30s";
      expect(strictValidate([sm]).map((p) => p.message).join()).toContain("intervall");
    });

    test("a wrong type and a missing required field fail", () => {
      const wrongType = clone(deployment);
      wrongType.spec.replicas = "two";
      expect(runtimeValidate([wrongType]).map((p) => p.message).join()).toMatch(/replicas must be integer/);
      const missing = clone(deployment);
      delete missing.spec.template.spec.containers[0].name;
      expect(validateObjects([missing]).length).toBeGreaterThan(0);
    });

    test("a kind without a schema is reported, never skipped", () => {
      expect(validateObjects([{ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } }])).toEqual([
        { object: "Widget w", message: "no schema for example.com/v1 Widget" },
        { object: "Widget w", message: "no schema for example.com/v1 Widget" },
      ]);
    });
  });
});
