/**
 * pinnedRelease (components/kubernetes/helm-release.ts): the shared settings of every platform Helm
 * release, and options that are passed only when given (an unset `createNamespace` or `skipCrds` is
 * absent from the inputs, not `false`: deployed releases were recorded either way).
 */
import * as k8s from "@pulumi/kubernetes";
import { runProgram, type DeclaredResource } from "../../../scripts/plan/harness";
import { pinnedRelease } from "../../../components/kubernetes/helm-release";

async function declared(declare: () => void): Promise<DeclaredResource[]> {
  const r = await runProgram({ stack: "dev" }, () => async () => {
    declare();
    return {};
  });
  return r.resources.filter((x) => x.type === "kubernetes:helm.sh/v3:Release");
}

test("the pin, the namespace and the shared settings; nothing else unless given", async () => {
  const [release] = await declared(() => {
    pinnedRelease("r", { pin: { chart: "c", version: "1.2.3", repo: "https://charts.example.com", release: "rel" }, namespace: "ns", values: { a: 1 } });
  });
  const { compat: _, ...inputs } = release.inputs;
  expect(inputs).toEqual({
    name: "rel",
    chart: "c",
    version: "1.2.3",
    repositoryOpts: { repo: "https://charts.example.com" },
    namespace: "ns",
    atomic: true,
    cleanupOnFail: true,
    timeout: 600,
    maxHistory: 5,
    values: { a: 1 },
  });
});

test("an OCI chart has no repository; timeout, createNamespace and skipCrds as given; the options untouched", async () => {
  const [release] = await declared(() => {
    const dep = new k8s.core.v1.Namespace("dep", {});
    pinnedRelease("oci", { pin: { chart: "oci://registry.example.com/c", version: "1.0.0", release: "o" }, namespace: "ns", timeout: 300, createNamespace: false, skipCrds: true }, { dependsOn: [dep] });
  });
  expect(release.inputs).not.toHaveProperty("repositoryOpts");
  expect(release.inputs).not.toHaveProperty("values");
  expect(release.inputs).toMatchObject({ chart: "oci://registry.example.com/c", timeout: 300, createNamespace: false, skipCrds: true });
  expect(release.dependencies.some((urn) => urn.endsWith("::dep"))).toBe(true);
});

test("skipCrds: false is kept, not dropped", async () => {
  const [release] = await declared(() => {
    pinnedRelease("crds", { pin: { chart: "c", version: "1.0.0", repo: "https://charts.example.com", release: "c" }, namespace: "ns", skipCrds: false });
  });
  expect(release.inputs.skipCrds).toBe(false);
  expect(release.inputs).not.toHaveProperty("createNamespace");
});
