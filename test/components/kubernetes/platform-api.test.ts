import { envSchema as apiEnvSchema } from "../../../services/api/src/env";
import { PROFILES } from "../../../infra/profiles";
import { listStacks } from "../../../scripts/plan/stack-config";
import { byKind, named, planOnFakeFoundation, planStack, type K8sObject, type Plan } from "./support/plan";
import { validateObjects } from "./support/schema";

/**
 * The platform API (services/api) on every stack: its objects, the environment its Deployment gives
 * it (checked by the API's own start-up schema), its credentials from Secrets, its scaling per
 * environment and its stack outputs.
 */
const STACKS = listStacks();
const environmentOf = (p: Plan) => p.result.config["mlops:environment"] as "dev" | "prod";
const container = (d: K8sObject) => d.spec.template.spec.containers[0];
const env = (d: K8sObject): Record<string, any> => Object.fromEntries((container(d).env ?? []).map((e: any) => [e.name, e.value ?? e.valueFrom]));
const secretRef = (name: string, key: string) => ({ secretKeyRef: { name, key } });

function secretValue(objects: K8sObject[], ref: { name: string; key: string }): string {
  const value = objects.find((o) => o.kind === "Secret" && o.metadata.name === ref.name)?.stringData?.[ref.key];
  if (typeof value !== "string") throw new Error(`no Secret ${ref.name} with key ${ref.key}`);
  return value;
}
/** The container's environment as the kubelet fills it in from the Secrets. */
const resolvedEnv = (p: Plan, d: K8sObject) => Object.fromEntries(Object.entries(env(d)).map(([k, v]) => [k, typeof v === "string" ? v : secretValue(p.objects, v.secretKeyRef)]));
const apiObjects = (p: Plan) => p.objects.filter((o) => o.metadata.labels?.["app.kubernetes.io/instance"] === "platform-api" || o.metadata.name.startsWith("platform-api"));

describe.each(STACKS)("stack %s: the platform API", (stack) => {
  let plan: Plan;
  beforeAll(async () => {
    plan = await planStack(stack);
  });

  test("is one Deployment with its Service, HPA and ServiceMonitor, schema-valid, every object labelled", () => {
    const objects = apiObjects(plan);
    const kinds = objects.filter((o) => o.metadata.name === "platform-api").map((o) => o.kind).sort();
    const prod = environmentOf(plan) === "prod";
    const exposed = Boolean(plan.result.config["mlops:ingress"] && JSON.parse(plan.result.config["mlops:ingress"]).hosts.api);
    expect(kinds).toEqual(["Deployment", "HorizontalPodAutoscaler", ...(exposed ? ["Ingress"] : []), ...(prod ? ["PodDisruptionBudget"] : []), "Service", "ServiceMonitor"].sort());
    expect(validateObjects(objects)).toEqual([]);
    for (const o of objects.filter((x) => x.metadata.name === "platform-api")) {
      expect(o.metadata.namespace).toBe("mlops");
      // The Ingress is labelled as the ingress's, like every platform Ingress.
      const app = o.kind === "Ingress" ? "ingress" : "api";
      expect(o.metadata.labels).toMatchObject({ "app.kubernetes.io/name": app, "app.kubernetes.io/instance": "platform-api", "app.kubernetes.io/part-of": "mlops-platform" });
    }
    expect(named(plan.objects, "Service", "platform-api").spec.ports.map((p: any) => [p.name, p.port])).toEqual([
      ["http", 8080],
      ["metrics", 9090],
    ]);
    expect(named(plan.objects, "ServiceMonitor", "platform-api").spec.endpoints[0]).toMatchObject({ port: "metrics", path: "/metrics", relabelings: [{ targetLabel: "mlops_component", replacement: "api" }] });
  });

  test("gets every setting of services/api/src/env.ts, credentials only from Secrets, and its own start-up schema accepts them", () => {
    const d = named(plan.objects, "Deployment", "platform-api");
    const environment = environmentOf(plan);
    const models = (JSON.parse(plan.result.config["mlops:models"]) as { name: string }[]).map((m) => m.name);
    const profile = PROFILES[environment].workloads;
    const e = env(d);
    expect(e).toEqual({
      PORT: "8080",
      METRICS_PORT: "9090",
      LOG_LEVEL: "info",
      ENVIRONMENT: environment,
      DATABASE_URL: secretRef("api-database", "database-url"),
      JWT_SIGNING_KEY: secretRef("platform-api-jwt-signing-key", "key"),
      ADMIN_USERNAME: "admin",
      ADMIN_PASSWORD: secretRef("platform-api-admin", "password"),
      MLFLOW_TRACKING_URI: "http://mlflow.mlops.svc.cluster.local:5000",
      MLFLOW_TRACKING_USERNAME: secretRef("mlflow-user-api", "username"),
      MLFLOW_TRACKING_PASSWORD: secretRef("mlflow-user-api", "password"),
      SERVING_URLS: JSON.stringify(Object.fromEntries(models.map((m) => [m, `http://serving-${m}.mlops.svc.cluster.local:8080`]))),
      SERVING_API_KEY: secretRef("platform-api-serving-api-key", "key"),
      MONITOR_URL: "http://monitor.mlops.svc.cluster.local:8080",
      // The monitor's own token Secrets: one value on both sides.
      MONITOR_FEEDBACK_TOKEN: secretRef("monitor-feedback-token", "token"),
      MONITOR_READ_TOKEN: secretRef("monitor-read-token", "token"),
      ...(environment === "prod" ? { MAX_CHALLENGER_WEIGHT: "10" } : {}),
      SERVING_PROFILE: JSON.stringify({
        minReplicas: profile.servingReplicas.min,
        maxReplicas: profile.servingReplicas.max,
        targetCpuUtilization: 70,
        cpu: profile.resources.serving.cpuLimit,
        memory: profile.resources.serving.memoryLimit,
      }),
      MODEL_CACHE_DIR: "/var/cache/mlops-api/models",
    });

    const parsed = apiEnvSchema.safeParse(resolvedEnv(plan, d));
    expect(parsed.error?.issues ?? []).toEqual([]);
    expect(parsed.data).toMatchObject({ ENVIRONMENT: environment, PORT: 8080, METRICS_PORT: 9090, ADMIN_USERNAME: "admin", SERVING_PROFILE: { targetCpuUtilization: 70 } });
    expect(Object.keys(parsed.data!.SERVING_URLS).sort()).toEqual([...models].sort());
    expect(parsed.data!.JWT_SIGNING_KEY.length).toBeGreaterThanOrEqual(32);
  });

  test("its credentials: its own database role, its own serving key (in serving's keys file), the monitor's tokens, Pulumi secrets all", () => {
    const resolved = resolvedEnv(plan, named(plan.objects, "Deployment", "platform-api"));
    expect(resolved.DATABASE_URL).toMatch(/^postgresql:\/\/mlops_api:[^@]+@[^/]+\/api\?sslmode=/);
    const keysFile = JSON.parse(secretValue(plan.objects, { name: "serving-api-keys", key: "keys.json" })).keys as { name: string; key: string }[];
    expect(keysFile.find((k) => k.name === "platform-api")?.key).toBe(resolved.SERVING_API_KEY);
    // The stack's own clients keep their keys; the API's key is not handed out as a stack output.
    expect(keysFile.map((k) => k.name)).toEqual([...(JSON.parse(plan.result.config["mlops:servingClients"] ?? '[{"name":"default"}]') as { name: string }[]).map((c) => c.name), "platform-api"]);
    expect(Object.keys(plan.result.outputs.servingApiKeys as Record<string, string>)).not.toContain("platform-api");
    expect(resolved.MONITOR_FEEDBACK_TOKEN).toBe(plan.result.outputs.monitorFeedbackToken);
    expect(resolved.ADMIN_PASSWORD).toBe(plan.result.outputs.apiAdminPassword);
    expect(resolved.ADMIN_PASSWORD.length).toBeGreaterThanOrEqual(12);
    for (const name of ["api-database", "platform-api-jwt-signing-key", "platform-api-admin", "platform-api-serving-api-key"]) {
      expect(named(plan.objects, "Secret", name).secretPaths).toEqual(expect.arrayContaining([expect.stringMatching(/^stringData/)]));
    }
  });

  test("scales with the environment: HPA on CPU 70% (dev 1-3, prod 3-20), PDB minAvailable 2 in prod, zero-downtime rollouts", () => {
    const prod = environmentOf(plan) === "prod";
    expect(named(plan.objects, "HorizontalPodAutoscaler", "platform-api").spec).toMatchObject({
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "platform-api" },
      minReplicas: prod ? 3 : 1,
      maxReplicas: prod ? 20 : 3,
      metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } }],
    });
    const pdbs = byKind(plan.objects, "PodDisruptionBudget").filter((p) => p.metadata.name === "platform-api");
    expect(pdbs.map((p) => p.spec)).toEqual(prod ? [{ minAvailable: 2, selector: { matchLabels: { "app.kubernetes.io/name": "api", "app.kubernetes.io/instance": "platform-api" } } }] : []);
    const d = named(plan.objects, "Deployment", "platform-api");
    expect(d.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    expect(d.spec).not.toHaveProperty("replicas");
  });

  test("runs like the other services: non-root, read-only root filesystem, the model cache on an emptyDir, probes, the profile's resources", () => {
    const d = named(plan.objects, "Deployment", "platform-api");
    const c = container(d);
    const pod = d.spec.template.spec;
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
    expect(pod.automountServiceAccountToken).toBe(false);
    const cache = c.volumeMounts.find((m: any) => m.mountPath === env(d).MODEL_CACHE_DIR);
    expect(pod.volumes.find((v: any) => v.name === cache.name)).toMatchObject({ emptyDir: { sizeLimit: expect.any(String) } });
    expect(c.livenessProbe.httpGet).toEqual({ path: "/health/live", port: "http" });
    expect(c.readinessProbe.httpGet).toEqual({ path: "/health/ready", port: "http" });
    const r = PROFILES[environmentOf(plan)].workloads.resources.api;
    expect(c.resources).toEqual({ requests: { cpu: r.cpuRequest, memory: r.memoryRequest }, limits: { cpu: r.cpuLimit, memory: r.memoryLimit } });
    expect(c.image).toMatch(/\/api:0\.1\.0(@sha256:[0-9a-f]{64})?$/);
    if (environmentOf(plan) === "prod") expect(c.image).toContain("@sha256:");
  });

  test("outputs its in-cluster URL, its admin password as a secret, and its public URL when the ingress exposes it", () => {
    const { outputs, secretOutputs, config } = plan.result;
    expect(outputs.apiUrl).toBe("http://platform-api.mlops.svc.cluster.local:8080");
    expect(secretOutputs).toContain("apiAdminPassword");
    expect(secretOutputs).not.toContain("apiUrl");
    const host = config["mlops:ingress"] && JSON.parse(config["mlops:ingress"]).hosts.api;
    if (host) {
      expect(outputs.apiPublicUrl).toBe(`https://${host}`);
      const ingress = named(plan.objects, "Ingress", "platform-api");
      expect(ingress.spec.rules[0]).toEqual({ host, http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "platform-api", port: { number: 8080 } } } }] } });
      expect(ingress.spec.tls).toEqual([{ hosts: [host], secretName: "platform-api-tls" }]);
    } else {
      expect(outputs).not.toHaveProperty("apiPublicUrl");
      expect(byKind(plan.objects, "Ingress").map((i) => i.metadata.name)).not.toContain("platform-api");
    }
  });
});

describe("the platform API's settings follow the stack", () => {
  test("a stack that lists platform-api among its serving clients sets the API's rate, and gets no second key for it", async () => {
    const p = await planOnFakeFoundation("dev", { "mlops:servingClients": JSON.stringify([{ name: "shop" }, { name: "platform-api", ratePerMinute: 20000 }]) });
    const keys = JSON.parse(secretValue(p.objects, { name: "serving-api-keys", key: "keys.json" })).keys as { name: string; ratePerMinute?: number }[];
    expect(keys.map((k) => [k.name, k.ratePerMinute])).toEqual([
      ["shop", undefined],
      ["platform-api", 20000],
    ]);
    expect(Object.keys(p.result.outputs.servingApiKeys as Record<string, string>)).toEqual(["shop"]);
  });

  test("the models of the stack are the API's SERVING_URLS; a pinned api image is pulled by its digest in prod", async () => {
    const digest = `sha256:${"5e".repeat(32)}`;
    const models = [{ name: "a", uri: "models:/a@champion" }, { name: "b", uri: "models:/b@champion", drift: { enabled: false } }];
    const p = await planOnFakeFoundation("dev", { "mlops:models": JSON.stringify(models), "mlops:images": JSON.stringify({ registry: "registry.example.com/mlops", tag: "1.2.3", api: { digest } }) });
    const d = named(p.objects, "Deployment", "platform-api");
    expect(JSON.parse(env(d).SERVING_URLS)).toEqual({ a: "http://serving-a.mlops.svc.cluster.local:8080", b: "http://serving-b.mlops.svc.cluster.local:8080" });
    // dev pulls by tag, the digest kept for prod: the reference names the api repository and the stack's tag.
    expect(container(d).image).toBe("registry.example.com/mlops/api:1.2.3");
    const prod = await planOnFakeFoundation("prod", { "mlops:images": JSON.stringify({ registry: "registry.example.com/mlops", tag: "1.2.3", api: { digest } }) });
    expect(container(named(prod.objects, "Deployment", "platform-api")).image).toBe(`registry.example.com/mlops/api:1.2.3@${digest}`);
  });
});
