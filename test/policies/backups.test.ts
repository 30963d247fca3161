import { allRules } from "../../policies/rules";
import { backupsRules } from "../../policies/rules/backups";
import { backupsVeleroSchedule, isVeleroCron, ttlHours, VELERO_SCHEDULE } from "../../policies/rules/backups/velero-schedule";
import type { DeclaredResource } from "../../scripts/plan/harness";
import { packConfigFor } from "../../scripts/plan/policy-gate";
import { check, messages, mutate, resource, runPolicies } from "../helpers/policy-engine";
import { plan } from "../helpers/plan";
import { runCases, type RuleCase } from "./support/cases";

const NAMESPACE = "kubernetes:core/v1:Namespace";
const RELEASE = "kubernetes:helm.sh/v3:Release";

const labels = { "app.kubernetes.io/name": "namespace", "app.kubernetes.io/part-of": "mlops-platform" };
const platformNamespaces = () => ["mlops", "monitoring"].map((name) => resource(NAMESPACE, { metadata: { name, labels } }, { name: `ns-${name}` }));
const velero = (changes: Record<string, any> = {}) =>
  resource(RELEASE, { name: "velero", chart: "velero", version: "11.3.2", repositoryOpts: { repo: "https://vmware-tanzu.github.io/helm-charts" }, namespace: "velero", ...changes }, { name: "velero-release" });

/** A Schedule as components/kubernetes/velero.ts declares it in prod; `spec` changes one thing. */
function schedule(spec: Record<string, any> = {}, metadata: Record<string, any> = {}): DeclaredResource {
  return resource(
    VELERO_SCHEDULE,
    {
      apiVersion: "velero.io/v1",
      kind: "Schedule",
      metadata: { name: "prod-platform", namespace: "velero", ...metadata },
      spec: {
        schedule: "0 */6 * * *",
        useOwnerReferencesInBackup: false,
        template: { includedNamespaces: ["mlops", "monitoring"], ttl: "720h0m0s", storageLocation: "default", snapshotVolumes: false, defaultVolumesToFsBackup: true },
        ...spec,
      },
    },
    { name: "velero-schedule" },
  );
}

const good = () => [...platformNamespaces(), velero(), schedule()];

const cases: RuleCase[] = [
  {
    rule: backupsVeleroSchedule,
    mistake: "a prod stack without any Velero Schedule (the cluster's objects are never backed up)",
    bad: () => [...platformNamespaces(), velero()],
    expected: /namespace "mlops" is backed up by no Velero Schedule \(the stack declares none\)/,
    good,
  },
  {
    rule: backupsVeleroSchedule,
    mistake: "a Schedule that leaves out the monitoring namespace",
    bad: () => [...platformNamespaces(), velero(), schedule({ template: { includedNamespaces: ["mlops"], ttl: "720h0m0s" } })],
    expected: /namespace "monitoring" is in no active Velero Schedule \(prod-platform do not cover it/,
    good,
  },
  {
    rule: backupsVeleroSchedule,
    mistake: "a Schedule paused during an incident and never resumed",
    bad: () => [...platformNamespaces(), velero(), schedule({ paused: true })],
    expected: /Velero Schedule "prod-platform" is paused/,
    good,
  },
  {
    rule: backupsVeleroSchedule,
    mistake: "a ttl of one day (the backup of Friday is gone by Monday)",
    bad: () => [...platformNamespaces(), velero(), schedule({ template: { includedNamespaces: ["mlops", "monitoring"], ttl: "24h0m0s" } })],
    expected: /keeps backups 24h0m0s \(1 days\); at least 7 days required/,
    good,
  },
  {
    rule: backupsVeleroSchedule,
    mistake: "a Schedule in a namespace where no Velero server runs",
    bad: () => [...platformNamespaces(), velero({ namespace: "backup-system" }), schedule()],
    expected: /is in namespace "velero", where no Velero server \(a Helm release of the "velero" chart\) runs/,
    good,
  },
  {
    rule: backupsVeleroSchedule,
    mistake: "a cron expression with six fields (seconds), which Velero's parser refuses",
    bad: () => [...platformNamespaces(), velero(), schedule({ schedule: "0 0 */6 * * *" })],
    expected: /has no valid cron expression \(spec.schedule "0 0 \*\/6 \* \* \*"\)/,
    good,
  },
];

runCases("backups", backupsRules, cases);

describe("backups-velero-schedule: what counts as a backup of a namespace", () => {
  test("a stack that declares none of the platform's namespaces has nothing to back up", async () => {
    expect(messages(await check(backupsVeleroSchedule, [velero()]))).toEqual([]);
  });

  test("an empty includedNamespaces or \"*\" covers every namespace; excludedNamespaces removes one", async () => {
    const everything = schedule({ template: { ttl: "720h0m0s" } });
    expect(messages(await check(backupsVeleroSchedule, [...platformNamespaces(), velero(), everything]))).toEqual([]);
    const star = schedule({ template: { includedNamespaces: ["*"], excludedNamespaces: ["monitoring"], ttl: "720h0m0s" } });
    expect(messages(await check(backupsVeleroSchedule, [...platformNamespaces(), velero(), star]))).toEqual([expect.stringMatching(/namespace "monitoring" is in no active Velero Schedule/)]);
  });

  test("an unset ttl is Velero's default of 30 days; minimumRetentionDays is a parameter", async () => {
    const unset = schedule({ template: { includedNamespaces: ["mlops", "monitoring"] } });
    expect(messages(await check(backupsVeleroSchedule, [...platformNamespaces(), velero(), unset]))).toEqual([]);
    expect(messages(await check(backupsVeleroSchedule, [...platformNamespaces(), velero(), unset], { minimumRetentionDays: 45 }))).toEqual([
      expect.stringMatching(/keeps backups undefined \(30 days\); at least 45 days required/),
      expect.stringMatching(/namespace "mlops"/),
      expect.stringMatching(/namespace "monitoring"/),
    ]);
  });

  test("a chart from an OCI registry named velero counts as the Velero server", async () => {
    expect(messages(await check(backupsVeleroSchedule, [...platformNamespaces(), velero({ chart: "oci://registry.example.com/charts/velero" }), schedule()]))).toEqual([]);
  });

  test("cron and ttl parsing", () => {
    for (const cron of ["0 3 * * *", "0 */6 * * *", "30 1,13 * * 1-5", "@daily", "@every 6h"]) expect([cron, isVeleroCron(cron)]).toEqual([cron, true]);
    for (const cron of ["", "daily", "0 3 * *", "0 0 3 * * *", 5]) expect([cron, isVeleroCron(cron)]).toEqual([cron, false]);
    expect(ttlHours("720h0m0s")).toBe(720);
    expect(ttlHours("168h")).toBe(168);
    expect(ttlHours("90m")).toBe(1.5);
    expect(ttlHours(undefined)).toBe(720);
    expect(ttlHours("7d")).toBeUndefined();
  });
});

describe("backups-velero-schedule on the real stacks", () => {
  test.each(["prod", "gcp-prod", "azure-prod"])("%s passes; without its Schedule, or with it paused, it fails (mandatory in prod)", async (stack) => {
    const r = await plan({ stack });
    const config = packConfigFor("prod");
    // The environment file names every rule: run the whole pack, look at this rule's findings.
    const run = async (resources: DeclaredResource[]) => (await runPolicies(allRules, resources, { config })).filter((v) => v.policy === backupsVeleroSchedule.name);
    expect(await run(r.resources)).toEqual([]);
    const without = await run(r.resources.filter((x) => x.type !== VELERO_SCHEDULE));
    expect(without.map((v) => [v.level, v.message])).toEqual([
      ["mandatory", expect.stringMatching(/namespace "mlops" is backed up by no Velero Schedule/)],
      ["mandatory", expect.stringMatching(/namespace "monitoring" is backed up by no Velero Schedule/)],
    ]);
    const scheduleName = r.resources.find((x) => x.type === VELERO_SCHEDULE)!.name;
    const paused = mutate(r.resources, scheduleName, (s) => {
      s.inputs.spec.paused = true;
      s.state.spec.paused = true;
    });
    expect((await run(paused)).map((v) => v.message)).toEqual(expect.arrayContaining([expect.stringMatching(/is paused/)]));
  });

  test("the local stack keeps no backups: advisory under its dev config", async () => {
    const r = await plan({ stack: "local" });
    const violations = (await runPolicies(allRules, r.resources, { config: packConfigFor("dev"), packLevel: "advisory" })).filter((v) => v.policy === backupsVeleroSchedule.name);
    expect(violations.map((v) => v.level)).toEqual(["advisory", "advisory"]);
  });
});
