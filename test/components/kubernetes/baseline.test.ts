import * as pulumi from "@pulumi/pulumi";
import { postgresUri } from "../../../components/kubernetes/databases";
import { FAKE_FOUNDATION, planOnFakeFoundation, planStack, podTemplates, type K8sObject, type Plan } from "./support/plan";

/**
 * The baseline of issue 3 and the restricted Pod Security Standard, checked on every container the
 * platform declares: Deployments, Jobs and CronJobs, init containers included (there are none today;
 * the checks would cover them).
 */
const RESTRICTED_VOLUME_TYPES = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];

interface ContainerRef {
  owner: K8sObject;
  pod: any;
  container: any;
  init: boolean;
}

function containers(objects: K8sObject[]): ContainerRef[] {
  return podTemplates(objects).flatMap(({ owner, spec }) => [
    ...(spec.initContainers ?? []).map((c: any) => ({ owner, pod: spec, container: c, init: true })),
    ...spec.containers.map((c: any) => ({ owner, pod: spec, container: c, init: false })),
  ]);
}

const where = (c: ContainerRef) => `${c.owner.kind} ${c.owner.metadata.name} / ${c.container.name}`;

/** Every violation of the baseline in one plan, as readable lines (expected: none). */
function baselineViolations(objects: K8sObject[], opts: { requireDigest: boolean }): string[] {
  const v: string[] = [];
  for (const c of containers(objects)) {
    const at = where(c);
    const sc = { ...(c.pod.securityContext ?? {}), ...(c.container.securityContext ?? {}) };
    const r = c.container.resources ?? {};
    for (const kind of ["requests", "limits"]) for (const res of ["cpu", "memory"]) if (!r[kind]?.[res]) v.push(`${at}: no ${kind}.${res}`);
    const longRunning = c.owner.kind === "Deployment" && !c.init;
    if (longRunning && !c.container.livenessProbe) v.push(`${at}: no liveness probe`);
    if (longRunning && !c.container.readinessProbe) v.push(`${at}: no readiness probe`);
    if (c.init && (c.container.livenessProbe || c.container.readinessProbe)) v.push(`${at}: probes on an init container are refused by the API server`);
    if (sc.runAsNonRoot !== true) v.push(`${at}: runAsNonRoot is not true`);
    if (sc.runAsUser === 0) v.push(`${at}: runs as uid 0`);
    if (c.container.securityContext?.allowPrivilegeEscalation !== false) v.push(`${at}: allowPrivilegeEscalation is not false`);
    if (c.container.securityContext?.privileged) v.push(`${at}: privileged`);
    const caps = c.container.securityContext?.capabilities ?? {};
    if (!(caps.drop ?? []).includes("ALL")) v.push(`${at}: capabilities do not drop ALL`);
    if ((caps.add ?? []).length) v.push(`${at}: adds capabilities ${caps.add}`);
    if (sc.seccompProfile?.type !== "RuntimeDefault") v.push(`${at}: seccomp profile is not RuntimeDefault`);
    if (c.container.securityContext?.readOnlyRootFilesystem !== true) v.push(`${at}: root filesystem is writable`);
    for (const m of c.container.volumeMounts ?? []) {
      const vol = (c.pod.volumes ?? []).find((x: any) => x.name === m.name);
      if (!vol) v.push(`${at}: mount ${m.mountPath} has no volume`);
      // Writable: an emptyDir (a scratch path) or a volume claim (data meant to persist, e.g. MLflow's artifacts on the local target).
      else if (!m.readOnly && !vol.emptyDir && !vol.persistentVolumeClaim) v.push(`${at}: writable mount ${m.mountPath} is not an emptyDir or a volume claim`);
    }
    if ((c.container.ports ?? []).some((p: any) => p.hostPort)) v.push(`${at}: uses a hostPort`);
    const image: string = c.container.image ?? "";
    const m = /^(?<repo>[^@]+?)(?::(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]*))?(?:@(?<digest>sha256:[a-f0-9]{64}))?$/.exec(image);
    if (!m?.groups?.tag) v.push(`${at}: image ${image} is not pinned by tag`);
    if (m?.groups?.tag === "latest") v.push(`${at}: image ${image} uses :latest`);
    if (opts.requireDigest && !m?.groups?.digest) v.push(`${at}: image ${image} is not pinned by digest`);
  }
  for (const { owner, spec } of podTemplates(objects)) {
    const at = `${owner.kind} ${owner.metadata.name}`;
    if (spec.hostNetwork || spec.hostPID || spec.hostIPC) v.push(`${at}: shares a host namespace`);
    if (spec.automountServiceAccountToken !== false) v.push(`${at}: mounts a Kubernetes API token it does not need`);
    for (const vol of spec.volumes ?? []) {
      const type = Object.keys(vol).find((k) => k !== "name");
      if (!type || !RESTRICTED_VOLUME_TYPES.includes(type)) v.push(`${at}: volume ${vol.name} of type ${type} is not allowed by the restricted standard`);
    }
    if (owner.kind === "Job" || owner.kind === "CronJob") {
      const jobSpec = owner.kind === "Job" ? owner.spec : owner.spec.jobTemplate.spec;
      if (!jobSpec.activeDeadlineSeconds) v.push(`${at}: a Job without a deadline can hang forever`);
    }
  }
  return v;
}

describe.each(["dev", "prod"])("baseline on the %s stack", (stack) => {
  let plan: Plan;
  beforeAll(async () => {
    plan = await planStack(stack);
  });

  test("every container meets the baseline", () => {
    const all = containers(plan.objects);
    expect(all.length).toBeGreaterThanOrEqual(stack === "prod" ? 10 : 8);
    expect(baselineViolations(plan.objects, { requireDigest: stack === "prod" })).toEqual([]);
  });

  test("our namespace enforces the restricted Pod Security Standard; monitoring warns and audits it", () => {
    const ns = Object.fromEntries(plan.objects.filter((o) => o.kind === "Namespace").map((o) => [o.metadata.name, o.metadata.labels!]));
    expect(ns.mlops).toMatchObject({
      "pod-security.kubernetes.io/enforce": "restricted",
      "pod-security.kubernetes.io/enforce-version": "v1.33",
      "pod-security.kubernetes.io/warn": "restricted",
      "pod-security.kubernetes.io/audit": "restricted",
    });
    expect(ns.monitoring).toMatchObject({ "pod-security.kubernetes.io/enforce": "privileged", "pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/audit": "restricted" });
    const ourNamespaces = new Set(podTemplates(plan.objects).map((p) => p.owner.metadata.namespace));
    expect([...ourNamespaces]).toEqual(["mlops"]);
  });

  test("every object carries the app.kubernetes.io recommended labels", () => {
    const missing = plan.objects.flatMap((o) =>
      ["name", "instance", "component", "part-of", "managed-by"].filter((k) => !o.metadata.labels?.[`app.kubernetes.io/${k}`]).map((k) => `${o.kind} ${o.metadata.name}: app.kubernetes.io/${k}`),
    );
    expect(missing).toEqual([]);
    for (const { labels } of podTemplates(plan.objects)) expect(labels["app.kubernetes.io/part-of"]).toBe("mlops-platform");
  });
});

describe("baseline with the foundation's options: artifacts on a volume claim, tolerations", () => {
  test("every container still meets it; a claim is a volume type the restricted standard allows", async () => {
    const volume = { claimName: "mlflow-artifacts", mountPath: "/mlflow-artifacts", size: "10Gi", accessMode: "ReadWriteOnce" as const };
    const spot = { key: "kubernetes.azure.com/scalesetpriority", operator: "Equal" as const, value: "spot", effect: "NoSchedule" as const };
    const { objects } = await planOnFakeFoundation("dev", {}, { artifactUri: "file:///mlflow-artifacts", artifactVolume: volume, tolerations: [spot] });
    const mlflow = podTemplates(objects).find((p) => p.owner.kind === "Deployment" && p.owner.metadata.name === "mlflow")!;
    expect(mlflow.spec.volumes).toContainEqual({ name: "artifacts", persistentVolumeClaim: { claimName: "mlflow-artifacts" } });
    expect(baselineViolations(objects, { requireDigest: false })).toEqual([]);
  });
});

describe("the baseline check itself", () => {
  test("reports each kind of violation, on the container or pod where it is", async () => {
    const { objects } = await planStack("dev");
    const bad = JSON.parse(JSON.stringify(objects.find((o) => o.kind === "Deployment" && o.metadata.name === "monitor")));
    const c = bad.spec.template.spec.containers[0];
    delete c.livenessProbe;
    delete c.resources.limits.memory;
    c.securityContext.runAsNonRoot = false;
    c.securityContext.allowPrivilegeEscalation = true;
    c.securityContext.capabilities = { drop: ["NET_RAW"], add: ["SYS_ADMIN"] };
    c.securityContext.readOnlyRootFilesystem = false;
    c.image = "registry.example.com/monitor:latest";
    bad.spec.template.spec.volumes.push({ name: "host", hostPath: { path: "/var/run" } });
    c.volumeMounts.push({ name: "host", mountPath: "/host" });
    bad.spec.template.spec.hostNetwork = true;
    expect(baselineViolations([bad], { requireDigest: true })).toEqual([
      "Deployment monitor / monitor: no limits.memory",
      "Deployment monitor / monitor: no liveness probe",
      "Deployment monitor / monitor: runAsNonRoot is not true",
      "Deployment monitor / monitor: allowPrivilegeEscalation is not false",
      "Deployment monitor / monitor: capabilities do not drop ALL",
      "Deployment monitor / monitor: adds capabilities SYS_ADMIN",
      "Deployment monitor / monitor: root filesystem is writable",
      "Deployment monitor / monitor: writable mount /host is not an emptyDir or a volume claim",
      "Deployment monitor / monitor: image registry.example.com/monitor:latest uses :latest",
      "Deployment monitor / monitor: image registry.example.com/monitor:latest is not pinned by digest",
      "Deployment monitor: shares a host namespace",
      "Deployment monitor: volume host of type hostPath is not allowed by the restricted standard",
    ]);
    const job = JSON.parse(JSON.stringify(objects.find((o) => o.kind === "Job")));
    delete job.spec.activeDeadlineSeconds;
    job.spec.template.spec.containers[0].image = "registry.example.com/mlflow";
    expect(baselineViolations([job], { requireDigest: false })).toEqual([
      `Job ${job.metadata.name} / ${job.spec.template.spec.containers[0].name}: image registry.example.com/mlflow is not pinned by tag`,
      `Job ${job.metadata.name}: a Job without a deadline can hang forever`,
    ]);
  });
});

/** The sensitive values of the Secrets (not the host names, ports and user names they also hold). */
function sensitiveValues(objects: K8sObject[]): string[] {
  const notSecret = new Set(["PGHOST", "PGPORT", "PGUSER", "PGSSLMODE", "username", "admin-user"]);
  return objects
    .filter((o) => o.kind === "Secret")
    .flatMap((s) => Object.entries<string>(s.stringData ?? {}).filter(([k]) => !notSecret.has(k)).map(([, v]) => v));
}

describe("secrets never leave Secrets", () => {
  let plan: Plan;
  let secretValues: string[];
  beforeAll(async () => {
    plan = await planOnFakeFoundation("prod");
    secretValues = [FAKE_FOUNDATION.password, ...sensitiveValues(plan.objects)];
    expect(secretValues.length).toBeGreaterThanOrEqual(15);
  });

  test("every Secret's data is a Pulumi secret (encrypted in state, masked in output)", () => {
    const secrets = plan.objects.filter((o) => o.kind === "Secret");
    expect(secrets.length).toBeGreaterThanOrEqual(12);
    const plain = secrets.filter((s) => Object.keys(s.stringData ?? {}).some((k) => !s.secretPaths.some((p) => p === "stringData" || p === `stringData.${k}`)));
    expect(plain.map((s) => s.metadata.name)).toEqual([]);
  });

  test("no secret value appears in env literals, args, commands, annotations, ConfigMaps or other fields", () => {
    const leaks: string[] = [];
    for (const o of plan.objects) {
      if (o.kind === "Secret") continue;
      const text = JSON.stringify({ ...o, resource: undefined, secretPaths: undefined });
      for (const s of secretValues) if (text.includes(s) || text.includes(encodeURIComponent(s))) leaks.push(`${o.kind} ${o.metadata.name}`);
    }
    expect(leaks).toEqual([]);
    const env = podTemplates(plan.objects).flatMap((p) => p.spec.containers.flatMap((c: any) => c.env ?? []));
    const literalPasswords = env.filter((e: any) => /PASSWORD|SECRET|TOKEN|DATABASE_URL|STORE_URI/.test(e.name) && e.value !== undefined);
    expect(literalPasswords).toEqual([]);
  });

  test("the stack outputs hold no secret but the credentials handed to people, and those only as Pulumi secrets (Grafana's password is referred to by Secret name)", async () => {
    const prod = await planStack("prod");
    // The API keys of serving's clients and the monitor's feedback and read tokens (for the platform API).
    const handedOut = ["servingApiKeys", "monitorFeedbackToken", "monitorReadToken"];
    expect(prod.result.secretOutputs).toEqual(expect.arrayContaining(handedOut));
    const plainOutputs = Object.fromEntries(Object.entries(prod.result.outputs).filter(([k]) => !prod.result.secretOutputs.includes(k)));
    const outputs = JSON.stringify(plainOutputs);
    for (const s of sensitiveValues(prod.objects)) expect(outputs).not.toContain(s);
    // Only what is handed out: no signing key, database password or other service's token among the secret outputs.
    const secretOutputs = JSON.stringify(handedOut.map((k) => prod.result.outputs[k]));
    const secret = (name: string, key: string) => prod.objects.find((o) => o.kind === "Secret" && o.metadata.name === name)!.stringData[key];
    for (const [name, key] of [["monitor-events-token", "token"], ["alert-receiver-token", "token"], ["drift-webhook-signing", "secret"], ["retrain-webhook-signing", "secret"], ["mlflow-admin", "password"]]) {
      expect(secretOutputs).not.toContain(secret(name, key));
    }
    expect(prod.result.outputs.grafanaAdminSecret).toBe("monitoring/grafana-admin");
  });

  test("MLflow and the monitor connect as their own roles; node-postgres keeps libpq's sslmode meaning", async () => {
    const { objects } = await planOnFakeFoundation("dev", {}, { sslMode: "require" });
    const secret = (name: string) => objects.find((o) => o.kind === "Secret" && o.metadata.name === name)!.stringData;
    const roles = secret("postgres-platform-roles");
    const enc = encodeURIComponent;
    expect(secret("mlflow-database")).toEqual({
      "backend-store-uri": `postgresql://mlops_mlflow:${enc(roles.MLFLOW_DB_PASSWORD)}@db.internal.example:5432/mlflow?sslmode=require`,
      "auth-database-uri": `postgresql://mlops_mlflow:${enc(roles.MLFLOW_DB_PASSWORD)}@db.internal.example:5432/mlflow_auth?sslmode=require`,
    });
    expect(secret("monitor-database")).toEqual({
      "database-url": `postgresql://mlops_monitor:${enc(roles.MONITOR_DB_PASSWORD)}@db.internal.example:5432/monitor?sslmode=require&uselibpqcompat=true`,
    });
    expect(roles.MLFLOW_DB_PASSWORD).not.toBe(roles.MONITOR_DB_PASSWORD);
    const admin = objects.find((o) => o.kind === "Secret" && o.metadata.name === "postgres-admin")!;
    expect(admin.stringData).toEqual({ PGHOST: "db.internal.example", PGPORT: "5432", PGUSER: "platform_admin", PGPASSWORD: FAKE_FOUNDATION.password, PGSSLMODE: "require" });
    const verify = await planOnFakeFoundation("dev", {}, { sslMode: "verify-full" });
    expect(verify.objects.find((o) => o.metadata.name === "monitor-database")!.stringData["database-url"]).toMatch(/\?sslmode=verify-full$/);
  });

  test("credentials are URL-encoded in the URIs", async () => {
    const uri = postgresUri({ host: pulumi.output("db"), port: pulumi.output(5432), sslMode: "disable" }, "role", "p@ss/w:rd%?#", "x", "node-postgres");
    const value = await new Promise<string>((resolve) => uri.apply(resolve));
    expect(value).toBe("postgresql://role:p%40ss%2Fw%3Ard%25%3F%23@db:5432/x?sslmode=disable");
    expect(new URL(value).password).toBe(encodeURIComponent("p@ss/w:rd%?#"));
  });
});

