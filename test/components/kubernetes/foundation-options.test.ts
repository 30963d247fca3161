/**
 * The Foundation's optional parts, honoured by the workloads: the artifact store as a volume of the
 * cluster (`artifactStore.volume`, the local target) and the tolerations every platform pod carries
 * (`scheduling.tolerations`, e.g. AKS spot pools). Absent, nothing changes (the other tests' plans).
 */
import type { ArtifactVolume, Toleration } from "../../../components/contracts";
import { artifactsVolumeProblem } from "../../../components/kubernetes/mlflow";
import { chartTolerations } from "../../../components/kubernetes/monitoring-stack";
import { byKind, named, planOnFakeFoundation, podTemplates, type K8sObject, type Plan } from "./support/plan";
import { validateObjects } from "./support/schema";

const RWO: ArtifactVolume = { claimName: "mlflow-artifacts", mountPath: "/mlflow-artifacts", size: "10Gi", accessMode: "ReadWriteOnce" };
const onVolume = (volume: ArtifactVolume = RWO) => ({ artifactUri: `file://${volume.mountPath}`, artifactVolume: volume, storageClassResource: true });
const release = (p: Plan) => p.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.chart === "kube-prometheus-stack")!;
const dependsOnUrn = (o: K8sObject, urn: string) => o.resource.dependencies.includes(urn);

describe("artifacts on a volume (artifactStore.volume, ReadWriteOnce)", () => {
  let plan: Plan;
  let claim: K8sObject;
  let mlflow: K8sObject;
  beforeAll(async () => {
    plan = await planOnFakeFoundation("dev", {}, onVolume());
    claim = named(plan.objects, "PersistentVolumeClaim", "mlflow-artifacts");
    mlflow = named(plan.objects, "Deployment", "mlflow");
  });

  test("a claim in MLflow's namespace: the volume's size and access mode, the foundation's StorageClass, the recommended labels", () => {
    expect(byKind(plan.objects, "PersistentVolumeClaim")).toHaveLength(1);
    expect(claim.metadata.namespace).toBe("mlops");
    expect(claim.spec).toEqual({ accessModes: ["ReadWriteOnce"], storageClassName: "fake-default", resources: { requests: { storage: "10Gi" } } });
    expect(claim.metadata.labels).toEqual({
      "app.kubernetes.io/name": "mlflow",
      "app.kubernetes.io/instance": "mlflow-artifacts",
      "app.kubernetes.io/component": "artifact-store",
      "app.kubernetes.io/part-of": "mlops-platform",
      "app.kubernetes.io/managed-by": "pulumi",
    });
    // Pending until MLflow's pod uses it (WaitForFirstConsumer): Pulumi does not wait for it to bind.
    expect(claim.metadata.annotations).toEqual({ "pulumi.com/skipAwait": "true" });
  });

  test("the claim is schema-valid, and so is every object of the plan", () => {
    expect(validateObjects([claim])).toEqual([]);
    expect(validateObjects(plan.objects)).toEqual([]);
  });

  test("the claim waits for what the foundation's storage needs; the Deployment waits for the claim", () => {
    const storageClass = named(plan.objects, "StorageClass", "fake-default");
    expect(dependsOnUrn(claim, storageClass.resource.urn)).toBe(true);
    expect(dependsOnUrn(mlflow, claim.resource.urn)).toBe(true);
  });

  test("MLflow's server mounts it (writable) at the store's path and writes artifacts there", () => {
    const pod = mlflow.spec.template.spec;
    const c = pod.containers[0];
    expect(pod.volumes).toContainEqual({ name: "artifacts", persistentVolumeClaim: { claimName: "mlflow-artifacts" } });
    expect(c.volumeMounts).toContainEqual({ name: "artifacts", mountPath: "/mlflow-artifacts" });
    expect(c.volumeMounts.find((m: any) => m.name === "artifacts").readOnly).toBeUndefined();
    expect(c.args).toContain("--artifacts-destination=file:///mlflow-artifacts");
    // The volume is written by MLflow's user: fsGroup makes it group-writable where the driver supports it.
    expect(pod.securityContext).toMatchObject({ runAsUser: 10001, fsGroup: 10001, runAsNonRoot: true });
  });

  test("ReadWriteOnce: one replica, rolled with Recreate (a surge pod could not attach the volume)", () => {
    expect(mlflow.spec.replicas).toBe(1);
    expect(mlflow.spec.strategy).toEqual({ type: "Recreate" });
    // The other Deployments keep their zero-downtime rollouts.
    for (const d of byKind(plan.objects, "Deployment").filter((x) => x.metadata.name !== "mlflow")) {
      expect(d.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    }
  });

  test("no Job or CronJob mounts it (migrations, database set-up and account bootstrap never touch artifacts)", () => {
    const others = podTemplates(plan.objects).filter((p) => p.owner.metadata.name !== "mlflow" || p.owner.kind !== "Deployment");
    expect(others.length).toBeGreaterThanOrEqual(6);
    for (const p of others) expect(JSON.stringify(p.spec)).not.toContain("mlflow-artifacts");
  });

  test("two MLflow replicas on a ReadWriteOnce volume are refused, naming the setting and the claim", async () => {
    // prod's profile runs MLflow with 2 replicas.
    await expect(planOnFakeFoundation("prod", {}, onVolume())).rejects.toThrow(
      'mlflow.replicas is 2, but the artifact store is the ReadWriteOnce volume claim "mlflow-artifacts", which only one MLflow pod can mount: run 1 replica, or give the foundation a ReadWriteMany volume',
    );
    expect(artifactsVolumeProblem(2, RWO)).toMatch(/"mlflow-artifacts"/);
    expect(artifactsVolumeProblem(1, RWO)).toBeUndefined();
    expect(artifactsVolumeProblem(3, { ...RWO, accessMode: "ReadWriteMany" })).toBeUndefined();
    expect(artifactsVolumeProblem(3, undefined)).toBeUndefined();
  });

  test("ReadWriteMany: several replicas share it, with the usual rolling update", async () => {
    const p = await planOnFakeFoundation("prod", {}, onVolume({ ...RWO, accessMode: "ReadWriteMany", size: "100Gi" }));
    expect(named(p.objects, "PersistentVolumeClaim", "mlflow-artifacts").spec).toMatchObject({ accessModes: ["ReadWriteMany"], resources: { requests: { storage: "100Gi" } } });
    const d = named(p.objects, "Deployment", "mlflow");
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    expect(d.spec.template.spec.containers[0].volumeMounts).toContainEqual({ name: "artifacts", mountPath: "/mlflow-artifacts" });
  });

  test("without a volume (the clouds' object stores): no claim, no mount, the Deployment unchanged", async () => {
    const p = await planOnFakeFoundation("dev");
    expect(byKind(p.objects, "PersistentVolumeClaim")).toEqual([]);
    const d = named(p.objects, "Deployment", "mlflow");
    expect(d.spec.template.spec.volumes).toEqual([{ name: "tmp", emptyDir: { sizeLimit: "1Gi" } }]);
    expect(d.spec.template.spec.containers[0].volumeMounts).toEqual([{ name: "tmp", mountPath: "/tmp" }]);
    expect(d.spec.strategy.type).toBe("RollingUpdate");
  });
});

const SPOT: Toleration = { key: "kubernetes.azure.com/scalesetpriority", operator: "Equal", value: "spot", effect: "NoSchedule" };
const MAINTENANCE: Toleration = { key: "example.com/maintenance", operator: "Exists", effect: "NoExecute" };

describe("tolerations every platform pod carries (scheduling.tolerations)", () => {
  let plan: Plan;
  beforeAll(async () => {
    plan = await planOnFakeFoundation("prod", {}, { tolerations: [SPOT] });
  });

  test("every pod template of ours (Deployments, Jobs, CronJobs) carries exactly the foundation's tolerations", () => {
    const pods = podTemplates(plan.objects);
    const kinds = new Set(pods.map((p) => p.owner.kind));
    expect([...kinds].sort()).toEqual(["CronJob", "Deployment", "Job"]);
    expect(pods.length).toBeGreaterThanOrEqual(10);
    for (const p of pods) expect([`${p.owner.kind} ${p.owner.metadata.name}`, p.spec.tolerations]).toEqual([`${p.owner.kind} ${p.owner.metadata.name}`, [SPOT]]);
  });

  test("the chart's pods carry them too: Prometheus, Alertmanager, Grafana, the operator, kube-state-metrics", () => {
    const values = release(plan).inputs.values;
    expect(values.prometheus.prometheusSpec.tolerations).toEqual([SPOT]);
    expect(values.alertmanager.alertmanagerSpec.tolerations).toEqual([SPOT]);
    expect(values.grafana.tolerations).toEqual([SPOT]);
    expect(values.prometheusOperator.tolerations).toEqual([SPOT]);
    expect(values["kube-state-metrics"].tolerations).toEqual([SPOT]);
    // node-exporter's default already tolerates every NoSchedule taint: its values are left alone.
    expect(values["prometheus-node-exporter"]).toBeUndefined();
    // What was there before is still there.
    expect(values.prometheusOperator.admissionWebhooks).toEqual({ enabled: false });
    expect(values.prometheus.prometheusSpec.retention).toBe("30d");
  });

  test("a NoExecute toleration reaches node-exporter too, next to its default (a list in the values replaces the chart's)", async () => {
    const p = await planOnFakeFoundation("dev", {}, { tolerations: [SPOT, MAINTENANCE] });
    const values = release(p).inputs.values;
    expect(values["prometheus-node-exporter"]).toEqual({ tolerations: [{ effect: "NoSchedule", operator: "Exists" }, MAINTENANCE] });
    expect(values.grafana.tolerations).toEqual([SPOT, MAINTENANCE]);
    for (const pod of podTemplates(p.objects)) expect(pod.spec.tolerations).toEqual([SPOT, MAINTENANCE]);
    expect(chartTolerations([])).toEqual({ pod: {}, subcharts: {} });
  });

  test("the objects with tolerations are schema-valid", () => {
    expect(validateObjects(plan.objects)).toEqual([]);
  });

  test("without tolerations (every foundation today): no pod and no chart value has the field", async () => {
    const p = await planOnFakeFoundation("prod");
    for (const pod of podTemplates(p.objects)) expect(pod.spec).not.toHaveProperty("tolerations");
    const values = release(p).inputs.values;
    expect(JSON.stringify(values)).not.toContain("tolerations");
    // Not even an empty section: the values are exactly what they were before tolerations existed.
    expect(values).not.toHaveProperty("kube-state-metrics");
    expect(values).not.toHaveProperty("prometheus-node-exporter");
    expect(Object.keys(values.prometheusOperator).sort()).toEqual(["admissionWebhooks", "tls"]);
  });

  test("with both options: the volume and the tolerations together, on the local target's shape", async () => {
    const p = await planOnFakeFoundation("dev", {}, { ...onVolume(), tolerations: [SPOT] });
    const mlflow = named(p.objects, "Deployment", "mlflow");
    expect(mlflow.spec.template.spec.tolerations).toEqual([SPOT]);
    expect(mlflow.spec.strategy).toEqual({ type: "Recreate" });
    expect(validateObjects(p.objects)).toEqual([]);
  });

  test.each([
    [{ key: "k", operator: "Exists", value: "v", effect: "NoSchedule" }, "operator Exists matches any value; leave value out"],
    [{ key: "", operator: "Equal", value: "v", effect: "NoSchedule" }, "operator Equal needs a key"],
  ] as [Toleration, string][])("a toleration the API server would refuse is refused first, named: %j", async (t, message) => {
    const run = planOnFakeFoundation("dev", {}, { tolerations: [SPOT, t] });
    await expect(run).rejects.toThrow("foundation.scheduling.tolerations[1]");
    await expect(run).rejects.toThrow(message);
  });
});
