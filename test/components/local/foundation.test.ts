/**
 * LocalFoundation declared alone under Pulumi's mocks: a Foundation for kind / k3d / minikube /
 * Docker Desktop with no cloud resource, PostgreSQL in the cluster with the platform's baseline,
 * artifacts on a volume, metrics-server where the cluster has none. Every Kubernetes object is
 * validated against the schemas of the cluster's version and the policy pack runs over the plan.
 */
import { allRules, rulesByArea } from "../../../policies/rules";
import { packConfigFor } from "../../../scripts/plan/policy-gate";
import { runPolicies, type Violation } from "../../../scripts/plan/policy-engine";
import {
  ARTIFACTS_CLAIM_NAME,
  ARTIFACTS_MOUNT_PATH,
  DATA_NAMESPACE,
  METRICS_SERVER_CHART,
  METRICS_SERVER_NAMESPACE,
  PGDATA,
  POSTGRES_IMAGES,
  checkImage,
  extraLabels,
  kubeconfigLocation,
} from "../../../components/local";
import { platformFlows } from "../../../components/kubernetes/flows";
import { policySpecs } from "../../../components/kubernetes/network-policies";
import { Cluster, type Endpoint, type Policy } from "../kubernetes/support/network";
import { validateObjects } from "../kubernetes/support/schema";
import { kindArgs, one, planLocal, type LocalPlan } from "./support";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const mandatory = (v: Violation[]) => v.filter((x) => x.level === "mandatory");

let kind: LocalPlan;
let k3d: LocalPlan;

beforeAll(async () => {
  kind = await planLocal(kindArgs());
  // k3d: current context, its own metrics-server, its `local-path` class, a Debian image.
  k3d = await planLocal(
    kindArgs({
      context: undefined,
      kubeconfigPath: undefined,
      installMetricsServer: false,
      storageClassName: "local-path",
      database: { ...kindArgs().database, postgresVersion: "17", image: "docker.io/library/postgres:17.2-bookworm", username: "platform_admin" },
    }),
  );
});

const statefulSet = (p: LocalPlan) => one(p.objects, "StatefulSet", "postgres");
const podSpec = (p: LocalPlan) => statefulSet(p).spec.template.spec;
const postgresContainer = (p: LocalPlan) => podSpec(p).containers[0];

describe("no cloud", () => {
  test("declares only Kubernetes objects, a Helm release, a random password and its own components", () => {
    for (const p of [kind, k3d]) {
      const types = [...new Set(p.resources.map((r) => r.type))];
      const foreign = types.filter((t) => !/^(kubernetes:|random:|mlops:(local|kubernetes):|pulumi:providers:kubernetes$|pulumi:pulumi:Stack$)/.test(t));
      expect(foreign).toEqual([]);
      expect(types).toEqual(expect.arrayContaining(["mlops:local:Foundation", "mlops:local:Postgres", "pulumi:providers:kubernetes", "random:index/randomPassword:RandomPassword"]));
    }
  });

  test("one provider, for the kubeconfig context (server-side apply), and every object goes through it", () => {
    const provider = one2(kind.resources.filter((r) => r.type === "pulumi:providers:kubernetes"));
    expect(provider.inputs).toMatchObject({ kubeconfig: "/home/dev/.kube/config", context: "kind-mlops", enableServerSideApply: "true", deleteUnreachable: "true" });
    for (const r of kind.resources.filter((x) => x.type.startsWith("kubernetes:"))) expect(r.provider?.startsWith(`${provider.urn}::`)).toBe(true);
    // Unset context and path: the provider's defaults (current context, $KUBECONFIG or ~/.kube/config).
    const current = one2(k3d.resources.filter((r) => r.type === "pulumi:providers:kubernetes"));
    expect(current.inputs.context).toBeUndefined();
    expect(current.inputs.kubeconfig).toBeUndefined();
  });

  test("children are registered under the component", () => {
    const root = one2(kind.resources.filter((r) => r.type === "mlops:local:Foundation"));
    const byUrn = new Map(kind.resources.map((r) => [r.urn, r]));
    const underRoot = (urn: string | undefined): boolean => (urn === root.urn ? true : urn ? underRoot(byUrn.get(urn)?.parent) : false);
    const children = kind.resources.filter((x) => x.type.startsWith("kubernetes:") || x.type.startsWith("random:") || x.type.startsWith("pulumi:providers:"));
    for (const r of children) expect([r.name, underRoot(r.parent)]).toEqual([r.name, true]);
  });
});

describe("every Kubernetes object", () => {
  test("validates against the Kubernetes schemas of the cluster's version (strict: unknown fields too)", () => {
    expect(kind.objects.length).toBeGreaterThanOrEqual(10);
    expect(validateObjects(kind.objects)).toEqual([]);
    expect(validateObjects(k3d.objects)).toEqual([]);
  });

  test("carries the recommended labels and the stack's tags", () => {
    for (const o of kind.objects) {
      expect(o.metadata.labels).toMatchObject({ "app.kubernetes.io/part-of": "mlops-platform", "app.kubernetes.io/managed-by": "pulumi" });
      for (const l of ["name", "instance", "component"]) expect(o.metadata.labels?.[`app.kubernetes.io/${l}`]).toBeTruthy();
    }
    for (const kindName of ["Namespace", "Secret", "StatefulSet", "Service"]) for (const o of kind.objects.filter((x) => x.kind === kindName)) expect(o.metadata.labels?.team).toBe("ml-platform");
  });
});

describe("the namespace of the foundation's pieces", () => {
  test("mlops-data enforces the restricted Pod Security Standard, pinned to the cluster's version", () => {
    const ns = one(kind.objects, "Namespace", DATA_NAMESPACE);
    expect(ns.metadata.labels).toMatchObject({
      "pod-security.kubernetes.io/enforce": "restricted",
      "pod-security.kubernetes.io/enforce-version": `v${kindArgs().kubernetesVersion}`,
      "pod-security.kubernetes.io/warn": "restricted",
      "pod-security.kubernetes.io/audit": "restricted",
    });
    for (const o of kind.objects.filter((x) => ["Secret", "StatefulSet", "Service", "NetworkPolicy"].includes(x.kind) && x.metadata.namespace !== METRICS_SERVER_NAMESPACE)) expect(o.metadata.namespace).toBe(DATA_NAMESPACE);
  });

  test("NetworkPolicies: default deny both ways; 5432 from the platform's namespace only; PostgreSQL opens nothing", () => {
    const policies = kind.objects.filter((o) => o.kind === "NetworkPolicy" && o.metadata.namespace === DATA_NAMESPACE);
    expect(policies.map((p) => p.metadata.name).sort()).toEqual(["allow-postgres", "default-deny"]);
    expect(one(policies, "NetworkPolicy", "default-deny").spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    expect(one(policies, "NetworkPolicy", "allow-postgres").spec.ingress).toEqual([
      { from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "mlops" } } }], ports: [{ port: 5432, protocol: "TCP" }] },
    ]);

    const podLabels = statefulSet(kind).spec.template.metadata.labels;
    const postgres: Endpoint = { id: "postgres", namespace: DATA_NAMESPACE, labels: podLabels, listens: [5432] };
    const mlflow: Endpoint = { id: "mlflow", namespace: "mlops", labels: { "app.kubernetes.io/name": "mlflow" } };
    const prometheus: Endpoint = { id: "prometheus", namespace: "monitoring", labels: { "app.kubernetes.io/name": "prometheus" } };
    const neighbour: Endpoint = { id: "neighbour", namespace: DATA_NAMESPACE, labels: { app: "other" } };
    const dns: Endpoint = { id: "kube-dns", namespace: "kube-system", labels: { "k8s-app": "kube-dns" } };
    const internet: Endpoint = { id: "internet", labels: {} };
    const cluster = new Cluster(policies as unknown as Policy[], { [DATA_NAMESPACE]: {}, mlops: {}, monitoring: {}, "kube-system": {} });
    expect(cluster.allowed(mlflow, postgres, 5432)).toBe(true);
    expect(cluster.allowed(mlflow, postgres, 22)).toBe(false);
    expect(cluster.allowed(prometheus, postgres, 5432)).toBe(false);
    expect(cluster.allowed(neighbour, postgres, 5432)).toBe(false);
    for (const to of [dns, internet, mlflow]) for (const port of [53, 443, 5432]) expect(cluster.allowed(postgres, to, port, port === 53 ? "UDP" : "TCP")).toBe(false);
  });

  test("end to end with the platform's own policies (components/kubernetes/flows.ts): its database clients get through, nothing else does", () => {
    const platformPolicies = Object.entries(policySpecs("mlops", platformFlows({ platformNamespace: "mlops", monitoringNamespace: "monitoring", models: [{ name: "m", drift: true, driftWebhook: false }], monitorWebhooks: false })))
      .map(([name, spec]) => ({ metadata: { name, namespace: "mlops" }, spec }))
      .concat([{ metadata: { name: "default-deny", namespace: "mlops" }, spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } }]) as unknown as Policy[];
    const ours = kind.objects.filter((o) => o.kind === "NetworkPolicy" && o.metadata.namespace === DATA_NAMESPACE) as unknown as Policy[];
    const cluster = new Cluster([...platformPolicies, ...ours], { [DATA_NAMESPACE]: {}, mlops: {}, monitoring: {} });
    const postgres: Endpoint = { id: "postgres", namespace: DATA_NAMESPACE, labels: statefulSet(kind).spec.template.metadata.labels };
    const pod = (name: string, instance = name): Endpoint => ({ id: name, namespace: "mlops", labels: { "app.kubernetes.io/name": name, "app.kubernetes.io/instance": instance } });
    for (const client of [pod("mlflow"), pod("monitor"), pod("api", "platform-api"), pod("db-init", "platform-databases"), pod("mlflow-db-upgrade")]) expect([client.id, cluster.allowed(client, postgres, 5432)]).toEqual([client.id, true]);
    for (const other of [pod("serving", "serving-m"), pod("drift", "drift-m")]) expect([other.id, cluster.allowed(other, postgres, 5432)]).toEqual([other.id, false]);
  });

  test("the allowed namespace follows MLflow's (the platform's) namespace", async () => {
    const other = await planLocal(kindArgs({ installMetricsServer: false, mlflowServiceAccount: { namespace: "ml", name: "tracking" } }));
    const allow = one(other.objects, "NetworkPolicy", "allow-postgres");
    expect(allow.spec.ingress[0].from).toEqual([{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ml" } } }]);
    expect(other.foundation.foundation.mlflowIdentity).toMatchObject({ namespace: "ml", serviceAccountName: "tracking" });
  });
});

describe("PostgreSQL", () => {
  test("a StatefulSet of one replica running the pinned official image, named the contract's way", () => {
    const sts = statefulSet(kind);
    expect(sts.spec.replicas).toBe(1);
    expect(sts.spec.serviceName).toBe("postgres-headless");
    expect(sts.metadata.annotations?.["mlops.io/singleton-reason"]?.length).toBeGreaterThan(10);
    expect(postgresContainer(kind).image).toBe(POSTGRES_IMAGES["16"]);
    expect(POSTGRES_IMAGES["16"]).toMatch(/^docker\.io\/library\/postgres:16\.\d+-alpine@sha256:[a-f0-9]{64}$/);
    for (const [major, image] of Object.entries(POSTGRES_IMAGES)) expect(image).toMatch(new RegExp(`^docker\\.io/library/postgres:${major}\\.\\d+-alpine(@sha256:[a-f0-9]{64})?$`));
    expect(postgresContainer(k3d).image).toBe("docker.io/library/postgres:17.2-bookworm");
    expect(postgresContainer(kind).env).toEqual(
      expect.arrayContaining([
        { name: "POSTGRES_USER", value: "mlops_admin" },
        { name: "POSTGRES_DB", value: "mlflow" },
        { name: "PGDATA", value: PGDATA },
      ]),
    );
  });

  test("restricted security context: non-root postgres user, read-only root, no escalation, no capabilities, RuntimeDefault seccomp", () => {
    for (const [p, uid] of [
      [kind, 70],
      [k3d, 999],
    ] as const) {
      const spec = podSpec(p);
      expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid, seccompProfile: { type: "RuntimeDefault" } });
      expect(postgresContainer(p).securityContext).toEqual({
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: uid,
        allowPrivilegeEscalation: false,
        privileged: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(spec.automountServiceAccountToken).toBe(false);
      expect(spec.hostNetwork).toBeUndefined();
    }
  });

  test("writable paths: the data volume (PGDATA in a subdirectory of it), emptyDirs for the socket and /tmp", () => {
    const mounts = postgresContainer(kind).volumeMounts;
    expect(mounts).toEqual(
      expect.arrayContaining([
        { name: "run", mountPath: "/var/run/postgresql" },
        { name: "tmp", mountPath: "/tmp" },
        { name: "data", mountPath: "/var/lib/postgresql/data" },
      ]),
    );
    expect(PGDATA.startsWith("/var/lib/postgresql/data/")).toBe(true);
    const volumes = podSpec(kind).volumes;
    expect(volumes.find((v: any) => v.name === "run").emptyDir).toBeDefined();
    expect(volumes.find((v: any) => v.name === "tmp").emptyDir).toBeDefined();
    // "data" comes from the claim template, not a pod volume.
    expect(volumes.find((v: any) => v.name === "data")).toBeUndefined();
  });

  test("probes run pg_isready over TCP; requests and limits are the given ones", () => {
    const c = postgresContainer(kind);
    for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"]) {
      expect(c[probe].exec.command).toEqual(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-U", "mlops_admin", "-d", "mlflow"]);
    }
    expect(c.startupProbe.failureThreshold * c.startupProbe.periodSeconds).toBeGreaterThanOrEqual(120);
    expect(c.resources).toEqual({ requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "1", memory: "512Mi" } });
    expect(c.ports).toEqual([{ name: "postgres", containerPort: 5432, protocol: "TCP" }]);
  });

  test("the password reaches the pod only through a secretKeyRef to the credentials Secret, and appears nowhere else", async () => {
    const secret = one(kind.objects, "Secret", "postgres-credentials");
    expect(secret.type).toBe("kubernetes.io/basic-auth");
    // The whole stringData (or its password) is a Pulumi secret in the engine's inputs.
    expect(secret.secretPaths.some((p) => "stringData.password".startsWith(p) && p.startsWith("stringData"))).toBe(true);
    const password = secret.stringData.password as string;
    expect(password.length).toBeGreaterThanOrEqual(40);
    const env = postgresContainer(kind).env;
    expect(env.find((e: any) => e.name === "POSTGRES_PASSWORD")).toEqual({ name: "POSTGRES_PASSWORD", valueFrom: { secretKeyRef: { name: "postgres-credentials", key: "password" } } });
    for (const e of env) if (e.value !== undefined) expect(e.value).not.toContain(password);
    // Nowhere in any declared input but the Secret (and the RandomPassword's own state).
    const holders = kind.resources.filter((r) => JSON.stringify(r.inputs).includes(password)).map((r) => r.type);
    expect(holders).toEqual(["kubernetes:core/v1:Secret"]);
    // The Foundation's password is a secret output; the plain outputs do not hold it.
    expect(kind.result.secretOutputs).toEqual(expect.arrayContaining(["dbPassword", "kubeconfig"]));
    expect(kind.result.outputs.dbPassword).toBe(password);
    const { dbPassword: _p, ...plain } = kind.result.outputs;
    expect(JSON.stringify(plain)).not.toContain(password);
  });

  test("the volume claim: ReadWriteOnce, the given size, the cluster's default class unless one is given; kept on delete", () => {
    const [claim] = statefulSet(kind).spec.volumeClaimTemplates;
    expect(claim.metadata.name).toBe("data");
    expect(claim.spec).toEqual({ accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "5Gi" } } });
    expect(statefulSet(k3d).spec.volumeClaimTemplates[0].spec.storageClassName).toBe("local-path");
    expect(statefulSet(kind).spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Retain", whenScaled: "Retain" });
  });

  test("Services: headless for the StatefulSet, ClusterIP `postgres` on 5432, both selecting the pod", () => {
    const podLabels = statefulSet(kind).spec.template.metadata.labels;
    const headless = one(kind.objects, "Service", "postgres-headless");
    const service = one(kind.objects, "Service", "postgres");
    expect(headless.spec.clusterIP).toBe("None");
    expect(service.spec.type).toBe("ClusterIP");
    for (const s of [headless, service]) {
      expect(s.spec.ports).toEqual([{ name: "postgres", port: 5432, targetPort: "postgres", protocol: "TCP" }]);
      for (const [k, v] of Object.entries(s.spec.selector)) expect(podLabels[k]).toBe(v);
    }
    expect(statefulSet(kind).spec.selector.matchLabels).toEqual(service.spec.selector);
  });

  test("a custom image must be a pinned tag of the announced major version", () => {
    expect(() => checkImage("docker.io/library/postgres:16.6-alpine", "16")).not.toThrow();
    expect(() => checkImage("registry.local:5000/postgres:16.6@sha256:" + "a".repeat(64), "16")).not.toThrow();
    expect(() => checkImage("docker.io/library/postgres:15.10-alpine", "16")).toThrow(/PostgreSQL 15, but postgresVersion is "16"/);
    expect(() => checkImage("docker.io/library/postgres:latest", "16")).toThrow(/latest/);
    expect(() => checkImage("docker.io/library/postgres", "16")).toThrow(/pin a version tag/);
  });
});

describe("metrics-server", () => {
  test("installed from the official chart at the pinned exact version, with --kubelet-insecure-tls, in its own restricted namespace", () => {
    const release = one2(kind.resources.filter((r) => r.type === RELEASE));
    expect(release.inputs).toMatchObject({
      chart: "metrics-server",
      version: METRICS_SERVER_CHART.version,
      repositoryOpts: { repo: "https://kubernetes-sigs.github.io/metrics-server/" },
      namespace: METRICS_SERVER_NAMESPACE,
      createNamespace: false,
      atomic: true,
    });
    expect(METRICS_SERVER_CHART.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(release.inputs.values.args).toEqual(["--kubelet-insecure-tls"]);
    expect(one(kind.objects, "Namespace", METRICS_SERVER_NAMESPACE).metadata.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    expect(kind.result.outputs.resourceMetricsUrns).toEqual([release.urn]);
  });

  test("its namespace denies by default and allows the API server in, kubelets and the API server out", () => {
    const policies = kind.objects.filter((o) => o.kind === "NetworkPolicy" && o.metadata.namespace === METRICS_SERVER_NAMESPACE) as unknown as Policy[];
    const cluster = new Cluster(policies, { [METRICS_SERVER_NAMESPACE]: {} });
    const ms: Endpoint = { id: "ms", namespace: METRICS_SERVER_NAMESPACE, labels: { "app.kubernetes.io/name": "metrics-server", "app.kubernetes.io/instance": "metrics-server" } };
    const node: Endpoint = { id: "node", labels: {} };
    expect(cluster.allowed(node, ms, 10250)).toBe(true);
    expect(cluster.allowed(ms, node, 10250)).toBe(true);
    expect(cluster.allowed(ms, node, 6443)).toBe(true);
    expect(cluster.allowed(ms, node, 443)).toBe(true);
    expect(cluster.allowed(ms, node, 5432)).toBe(false);
    expect(cluster.allowed(node, ms, 22)).toBe(false);
  });

  test("optional: installMetricsServer false declares no release and no resource metrics dependency", () => {
    expect(k3d.resources.filter((r) => r.type === RELEASE)).toEqual([]);
    expect(k3d.objects.some((o) => o.metadata.name === METRICS_SERVER_NAMESPACE)).toBe(false);
    expect(k3d.foundation.foundation.resourceMetrics).toEqual([]);
    expect(k3d.result.outputs.resourceMetricsUrns).toEqual([]);
  });
});

describe("the Foundation and its outputs", () => {
  test("the contract's values for a local cluster", () => {
    const f = kind.foundation.foundation;
    const o = kind.result.outputs;
    expect(f.cloud).toBe("local");
    expect(f.kubernetes).toBe(kind.foundation.provider);
    expect(f.kubernetesVersion).toBe(kindArgs().kubernetesVersion);
    expect(f.database.sslMode).toBe("disable");
    expect([o.dbHost, o.dbPort, o.dbUsername]).toEqual(["postgres.mlops-data.svc.cluster.local", 5432, "mlops_admin"]);
    expect(k3d.result.outputs.dbUsername).toBe("platform_admin");
    expect(f.mlflowIdentity).toMatchObject({ namespace: "mlops", serviceAccountName: "mlflow" });
    expect([o.serviceAccountAnnotations, o.podLabels]).toEqual([{}, {}]);
    expect(f.storage).toEqual({ className: "standard", dependsOn: [] });
    expect(k3d.foundation.foundation.storage.className).toBe("local-path");
  });

  test("artifacts: a file:// URI MLflow's --artifacts-destination accepts, on a volume claim mounted at that path", () => {
    const f = kind.foundation.foundation;
    expect(kind.result.outputs.artifactUri).toBe(`file://${ARTIFACTS_MOUNT_PATH}`);
    expect(f.artifactStore.volume).toEqual({ claimName: ARTIFACTS_CLAIM_NAME, mountPath: ARTIFACTS_MOUNT_PATH, size: "10Gi", accessMode: "ReadWriteOnce" });
    // The claim lives in MLflow's namespace, which the platform creates: not declared here.
    expect(kind.objects.some((o) => o.kind === "PersistentVolumeClaim")).toBe(false);
  });

  test("stack outputs: the same names as every cloud; the kubeconfig output says where it is, as a secret, without copying credentials", () => {
    expect(kind.result.outputs).toMatchObject({
      clusterName: "kind-mlops",
      kubeconfig: "/home/dev/.kube/config",
      databaseEndpoint: "postgres.mlops-data.svc.cluster.local:5432",
      artifactStoreUri: "file:///mlflow-artifacts",
      region: "local",
      imageRegistry: "localhost/mlops",
      mlflowIdentity: "none",
    });
    expect(kind.result.secretOutputs).toContain("kubeconfig");
    expect(k3d.result.outputs.clusterName).toBe("local");
    expect(kubeconfigLocation(undefined, { KUBECONFIG: "/tmp/a:/tmp/b" })).toBe("/tmp/a:/tmp/b");
    expect(kubeconfigLocation(undefined, {})).toBe("~/.kube/config");
    expect(kubeconfigLocation("/x/config", { KUBECONFIG: "/y" })).toBe("/x/config");
  });

  test("the stack's tags become label-safe labels; the platform's own label keys are refused", () => {
    expect(extraLabels({ team: "ML Platform", "example.com/owner": "a@b" })).toEqual({ team: "ML-Platform", "example.com/owner": "a-b" });
    expect(() => extraLabels({ "app.kubernetes.io/name": "x" })).toThrow(/set by the platform/);
    expect(() => extraLabels({ "bad key": "x" })).toThrow(/not a valid Kubernetes label key/);
  });
});

describe("the policy pack over the declaration", () => {
  const stackOf = (p: LocalPlan) => ({ project: p.result.project, stack: "local", config: p.result.config });

  test("under policies/config/dev.json: no mandatory violation", async () => {
    for (const p of [kind, k3d]) expect(mandatory(await runPolicies(allRules, p.resources, { config: packConfigFor("dev"), stack: stackOf(p) }))).toEqual([]);
  });

  test("every workload and cluster rule, and the labels rule, at mandatory with their defaults: no violation on the default (kind) declaration", async () => {
    const rules = [...rulesByArea.workloads, ...rulesByArea.cluster, ...rulesByArea.tags];
    const config = Object.fromEntries(rules.map((r) => [r.name, "mandatory"]));
    const violations = await runPolicies(rules, kind.resources, { config, stack: stackOf(kind) });
    expect(violations.map((v) => `${v.policy}: ${v.message}`)).toEqual([]);
  });

  test("the same on k3d's declaration, but for the digest a custom tag-only image lacks (workloads-image-provenance)", async () => {
    const rules = [...rulesByArea.workloads, ...rulesByArea.cluster, ...rulesByArea.tags];
    const config = Object.fromEntries(rules.map((r) => [r.name, "mandatory"]));
    const violations = await runPolicies(rules, k3d.resources, { config, stack: stackOf(k3d) });
    expect(violations.map((v) => v.policy)).toEqual(["workloads-image-provenance"]);
    expect(violations[0].message).toMatch(/not pinned by digest/);
  });
});

function one2<T>(items: T[]): T {
  if (items.length !== 1) throw new Error(`expected one, found ${items.length}`);
  return items[0];
}
