import { buildAlertRules } from "../../../components/kubernetes/alert-rules";
import { parseDriftConfig } from "../../../services/drift/src/drift/config";
import { envSchema as driftEnvSchema } from "../../../services/drift/src/service/env";
import { servingEnvSchema } from "../../../services/serving/src/config";
import { DEFAULT_CLASSIFIER, parseModelsConfig } from "../../../services/monitor/src/config/models";
import { envSchema as monitorEnvSchema } from "../../../services/monitor/src/env";
import { NAMESPACES } from "../../../components/kubernetes/constants";
import { MLFLOW_SERVICE_ACCOUNT } from "../../../infra/clouds/target";
import { API_DEFAULT_CHALLENGER_CAP, PROFILES } from "../../../infra/profiles";
import { challengerCap } from "../../../services/api/src/env";
import { KUBE_PROMETHEUS_STACK } from "../../../components/kubernetes/monitoring-stack";
import { runProgram } from "../../../scripts/plan/harness";
import { FAKE_FOUNDATION, byKind, named, planOnFakeFoundation, planStack, type K8sObject, type Plan } from "./support/plan";

const env = (o: K8sObject) => Object.fromEntries((o.spec.template.spec.containers[0].env ?? []).map((e: any) => [e.name, e.value ?? e.valueFrom]));
const dependsOn = (o: K8sObject, plan: Plan, kind: string, namePrefix: string) =>
  o.resource.dependencies.some((urn) => plan.objects.some((x) => x.resource.urn === urn && x.kind === kind && x.metadata.name.startsWith(namePrefix)));
const secretRef = (name: string, key: string) => ({ secretKeyRef: { name, key } });

describe("prod: two models, highly available", () => {
  let plan: Plan;
  beforeAll(async () => {
    plan = await planStack("prod");
  });

  test("two models in config give two serving and two drift deployments, one monitor, one MLflow, one platform API", () => {
    const names = byKind(plan.objects, "Deployment").map((d) => d.metadata.name).sort();
    expect(names).toEqual(["drift-churn-predictor", "drift-fraud-detector", "mlflow", "monitor", "platform-api", "serving-churn-predictor", "serving-fraud-detector"]);
    const components = Object.fromEntries(plan.resources.filter((r) => r.type.startsWith("mlops:kubernetes:")).map((r) => [r.name, r.type]));
    expect(Object.values(components).filter((t) => t === "mlops:kubernetes:ModelServing")).toHaveLength(2);
    expect(Object.values(components).filter((t) => t === "mlops:kubernetes:DriftDetector")).toHaveLength(2);
  });

  test("every Kubernetes object goes to the foundation's cluster (its provider), never to a default kubeconfig", () => {
    const providers = plan.resources.filter((r) => r.type === "pulumi:providers:kubernetes");
    expect(providers).toHaveLength(1);
    const k8s = plan.resources.filter((r) => r.type.startsWith("kubernetes:"));
    expect(k8s.length).toBeGreaterThan(50);
    expect(new Set(k8s.map((r) => r.provider?.split("::").slice(0, 4).join("::")))).toEqual(new Set([providers[0].urn]));
  });

  test("serving: HPA on CPU with the model's min/max (or the profile's), PDB minAvailable 2, zero-downtime rollouts", () => {
    for (const model of ["fraud-detector", "churn-predictor"]) {
      const hpa = named(plan.objects, "HorizontalPodAutoscaler", `serving-${model}`);
      expect(hpa.spec).toMatchObject({
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: `serving-${model}` },
        minReplicas: 3,
        maxReplicas: 20,
        metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } }],
      });
      expect(named(plan.objects, "PodDisruptionBudget", `serving-${model}`).spec).toEqual({ minAvailable: 2, selector: { matchLabels: { "app.kubernetes.io/name": "serving", "app.kubernetes.io/instance": `serving-${model}` } } });
      // The HPA owns the replica count: under server-side apply a count in the manifest would be set back on every update.
      expect(named(plan.objects, "Deployment", `serving-${model}`).spec).not.toHaveProperty("replicas");
    }
    for (const d of byKind(plan.objects, "Deployment")) expect(d.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
  });

  test("MLflow runs 2 replicas with a PDB, spread over zones; the monitor 2", () => {
    const mlflow = named(plan.objects, "Deployment", "mlflow");
    expect(mlflow.spec.replicas).toBe(2);
    expect(named(plan.objects, "PodDisruptionBudget", "mlflow").spec.minAvailable).toBe(1);
    expect(mlflow.spec.template.spec.topologySpreadConstraints.map((t: any) => t.topologyKey)).toEqual(["topology.kubernetes.io/zone", "kubernetes.io/hostname"]);
    expect(named(plan.objects, "Deployment", "monitor").spec.replicas).toBe(2);
    expect(named(plan.objects, "PodDisruptionBudget", "monitor").spec.minAvailable).toBe(1);
  });

  test("serving is wired to its model, challenger, event sinks (its drift + the monitor) and MLflow with its own account", () => {
    const e = env(named(plan.objects, "Deployment", "serving-fraud-detector"));
    expect(e).toMatchObject({
      MODEL_NAME: "fraud-detector",
      MODEL_URI: "models:/fraud-detector@champion",
      CHALLENGER_URI: "models:/fraud-detector@challenger",
      CHALLENGER_WEIGHT: "10",
      SHADOW: "false",
      // the environment's cap: serving applies no more, whatever the weight's source (the deploy's registry tag)
      MAX_CHALLENGER_WEIGHT: "10",
      EVENT_SINKS: "http://drift-fraud-detector.mlops.svc.cluster.local:8080,http://monitor.mlops.svc.cluster.local:8080",
      EVENT_SINK_TOKENS: secretRef("serving-fraud-detector-event-sinks", "tokens"),
      API_KEYS_FILE: "/etc/mlops/api-keys/keys.json",
      MLFLOW_TRACKING_URI: "http://mlflow.mlops.svc.cluster.local:5000",
      MLFLOW_TRACKING_USERNAME: secretRef("mlflow-user-serving", "username"),
      MLFLOW_TRACKING_PASSWORD: secretRef("mlflow-user-serving", "password"),
      PORT: "8080",
      METRICS_PORT: "9090",
    });
    expect(env(named(plan.objects, "Deployment", "serving-churn-predictor")).CHALLENGER_URI).toBeUndefined();
  });

  test("drift and the monitor get their settings, database and accounts", () => {
    expect(env(named(plan.objects, "Deployment", "drift-churn-predictor"))).toMatchObject({
      MODEL_NAME: "churn-predictor",
      REFERENCE_URI: "models:/churn-predictor@champion",
      EVALUATION_INTERVAL_S: "60",
      WINDOW_MAX_ROWS: "10000",
      DRIFT_CONFIG: '{"driftShare":0.5}',
      EVENTS_TOKEN: secretRef("drift-churn-predictor-events-token", "token"),
      MLFLOW_TRACKING_USERNAME: secretRef("mlflow-user-drift", "username"),
    });
    const drift = named(plan.objects, "Deployment", "drift-churn-predictor");
    expect(drift.spec.replicas).toBe(1);
    // The policy pack lets a workload be a singleton when it says why.
    expect(drift.metadata.annotations!["mlops.io/singleton-reason"]).toMatch(/windows in memory/);
    const monitor = env(named(plan.objects, "Deployment", "monitor"));
    expect(monitor).toMatchObject({
      DATABASE_URL: secretRef("monitor-database", "database-url"),
      RETENTION_DAYS: "90",
      ALERT_PORT: "8081",
      EVENTS_TOKEN: secretRef("monitor-events-token", "token"),
      FEEDBACK_TOKEN: secretRef("monitor-feedback-token", "token"),
      READ_TOKEN: secretRef("monitor-read-token", "token"),
      ALERT_RECEIVER_TOKEN: secretRef("alert-receiver-token", "token"),
      RETRAIN_WEBHOOK_SECRET: secretRef("retrain-webhook-signing", "secret"),
      MLFLOW_TRACKING_USERNAME: secretRef("mlflow-user-monitor", "username"),
    });
    // No alert action configured: no ALERT_ACTIONS (the monitor's default is none); the old shared name is gone.
    expect(Object.keys(monitor)).not.toContain("ALERT_ACTIONS");
    expect(Object.keys(monitor)).not.toContain("WEBHOOK_SECRET");
  });

  test("images are pulled by digest in prod (CI pins them; a preview shows the placeholder as zeros), by tag in dev", async () => {
    const registry = "123456789012.dkr.ecr.us-west-2.amazonaws.com/mlops";
    const image = (p: Plan, name: string) => named(p.objects, "Deployment", name).spec.template.spec.containers[0].image;
    expect(image(plan, "serving-fraud-detector")).toBe(`${registry}/serving:0.1.0@sha256:${"0".repeat(64)}`);
    const pinned = `sha256:${"4f1c".repeat(16)}`;
    const images = { registry, tag: "0.1.0", serving: { digest: pinned }, drift: { digest: pinned }, monitor: { digest: pinned }, mlflow: { digest: `sha256:${"7c4f".repeat(16)}` } };
    const pinnedPlan = await planStack("prod", { "mlops:images": JSON.stringify(images) });
    expect(image(pinnedPlan, "serving-fraud-detector")).toBe(`${registry}/serving:0.1.0@${pinned}`);
    expect(image(pinnedPlan, "mlflow")).toBe(`${registry}/mlflow:0.1.0@sha256:${"7c4f".repeat(16)}`);
    const dev = await planStack("dev");
    expect(image(dev, "serving-fraud-detector")).toBe(`${registry}/serving:0.1.0`);
  });

  test("serving and drift do not hold `pulumi up` while their model waits for a registration; the HPAs come after metrics-server", () => {
    for (const name of ["serving-fraud-detector", "drift-fraud-detector"]) {
      expect(named(plan.objects, "Deployment", name).metadata.annotations).toMatchObject({ "pulumi.com/skipAwait": "true" });
    }
    expect(named(plan.objects, "Deployment", "mlflow").metadata.annotations?.["pulumi.com/skipAwait"]).toBeUndefined();
    expect(named(plan.objects, "Deployment", "monitor").metadata.annotations?.["pulumi.com/skipAwait"]).toBeUndefined();
    const metricsServer = plan.resources.find((r) => r.type === "aws:eks/addon:Addon" && r.inputs.addonName === "metrics-server")!;
    for (const hpa of plan.resources.filter((r) => r.type === "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")) {
      expect(hpa.dependencies).toContain(metricsServer.urn);
    }
  });

  test("Prometheus keeps 30 days on 2 replicas, Alertmanager has 2 replicas and routes to the monitor", () => {
    const release = plan.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.chart === "kube-prometheus-stack")!.inputs;
    expect(release).toMatchObject({ chart: "kube-prometheus-stack", version: KUBE_PROMETHEUS_STACK.version, repositoryOpts: { repo: "https://prometheus-community.github.io/helm-charts" }, skipCrds: false });
    expect(KUBE_PROMETHEUS_STACK.version).toMatch(/^\d+\.\d+\.\d+$/);
    const values = release.values;
    expect(values.crds).toEqual({ enabled: true });
    expect(values.prometheus.prometheusSpec).toMatchObject({ retention: "30d", replicas: 2, serviceMonitorSelectorNilUsesHelmValues: false, ruleSelectorNilUsesHelmValues: false });
    expect(values.alertmanager.alertmanagerSpec.replicas).toBe(2);
    const receiver = values.alertmanager.config.receivers.find((r: any) => r.name === "mlops-monitor");
    expect(receiver.webhook_configs[0]).toMatchObject({
      // The monitor's alerts port: its API port no longer answers POST /v1/alerts.
      url: "http://monitor.mlops.svc.cluster.local:8081/v1/alerts",
      send_resolved: true,
      http_config: { authorization: { type: "Bearer", credentials_file: "/etc/alertmanager/secrets/alertmanager-monitor-token/token" } },
    });
    // The monitor's route first (continue: the people's routes of mlops:alerting still match; alertmanager-stacks.test.ts).
    expect(values.alertmanager.config.route.routes[0]).toEqual({ receiver: "mlops-monitor", matchers: ['platform="mlops"'], group_by: ["alertname", "model"], continue: true });
    expect(values.grafana.admin).toEqual({ existingSecret: "grafana-admin", userKey: "admin-user", passwordKey: "admin-password" });
    const grafanaSecret = named(plan.objects, "Secret", "grafana-admin");
    expect(grafanaSecret.metadata.namespace).toBe("monitoring");
    expect(grafanaSecret.stringData["admin-password"]).toMatch(/^offline-.*-grafana-admin-password/);
    // The same token on both sides of the Alertmanager -> monitor call.
    expect(named(plan.objects, "Secret", "alertmanager-monitor-token").stringData.token).toBe(named(plan.objects, "Secret", "alert-receiver-token").stringData.token);
  });

  test("the PrometheusRule carries the platform's alerts with prod's thresholds, per-model accuracy from config", () => {
    const rule = named(plan.objects, "PrometheusRule", "mlops-alerts");
    expect(rule.metadata.namespace).toBe("monitoring");
    expect(rule.spec.groups).toEqual(
      buildAlertRules({
        errorRatio: 0.02,
        latencyP95Seconds: 0.1,
        driftShareWarning: 0.3,
        driftShareCritical: 0.7,
        qualityWindow: "1h",
        qualityMinLabels: 100,
        // The stack's team tag and mlops:alerting.runbookBaseUrl.
        team: "ml-platform",
        runbookBaseUrl: "https://github.com/acme/mlops-platform/blob/main/docs/runbooks",
        models: [
          { name: "fraud-detector", accuracyThreshold: 0.9 },
          { name: "churn-predictor", accuracyThreshold: 0.8 },
        ],
      }),
    );
    const quality = rule.spec.groups.find((g: any) => g.name === "mlops-quality").rules;
    expect(quality.map((r: any) => [r.labels.model, /< (\S+)\n/.exec(r.expr)![1]])).toEqual([
      ["fraud-detector", "0.9"],
      ["churn-predictor", "0.8"],
    ]);
  });

  test("everything that uses a prometheus-operator kind depends on the Helm release that installs its CRDs", () => {
    const crdUsers = plan.objects.filter((o) => o.apiVersion.startsWith("monitoring.coreos.com/"));
    expect(crdUsers.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      "PrometheusRule/mlops-alerts",
      "ServiceMonitor/drift-churn-predictor",
      "ServiceMonitor/drift-fraud-detector",
      "ServiceMonitor/mlflow",
      "ServiceMonitor/monitor",
      "ServiceMonitor/platform-api",
      "ServiceMonitor/serving-churn-predictor",
      "ServiceMonitor/serving-fraud-detector",
    ]);
    const releaseUrn = plan.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.chart === "kube-prometheus-stack")!.urn;
    for (const o of crdUsers) expect(o.resource.dependencies).toContain(releaseUrn);
  });

  test("ServiceMonitors label targets for the alert rules; MLflow's logs in with the metrics account", () => {
    const sm = named(plan.objects, "ServiceMonitor", "serving-fraud-detector");
    expect(sm.spec.selector.matchLabels).toEqual({ "app.kubernetes.io/name": "serving", "app.kubernetes.io/instance": "serving-fraud-detector" });
    expect(sm.spec.endpoints[0]).toMatchObject({
      port: "metrics",
      path: "/metrics",
      relabelings: [
        { action: "replace", targetLabel: "mlops_component", replacement: "serving" },
        { action: "replace", targetLabel: "mlops_model", replacement: "fraud-detector" },
      ],
    });
    const mlflow = named(plan.objects, "ServiceMonitor", "mlflow");
    expect(mlflow.spec.endpoints[0]).toMatchObject({ port: "http", basicAuth: { username: { name: "mlflow-user-metrics", key: "username" }, password: { name: "mlflow-user-metrics", key: "password" } } });
    expect(named(plan.objects, "Secret", "mlflow-user-metrics").type).toBe("kubernetes.io/basic-auth");
  });

  test("dashboards are ConfigMaps the Grafana sidecar picks up", () => {
    const maps = byKind(plan.objects, "ConfigMap").filter((c) => c.metadata.labels?.grafana_dashboard === "1");
    expect(maps.map((m) => m.metadata.name).sort()).toEqual(["dashboard-mlops-model-health", "dashboard-mlops-model-serving", "dashboard-mlops-platform-api"]);
    for (const m of maps) {
      expect(m.metadata.namespace).toBe("monitoring");
      const [file, json] = Object.entries<string>(m.data)[0];
      expect(file).toMatch(/\.json$/);
      expect(JSON.parse(json).panels.length).toBeGreaterThan(5);
    }
    expect(plan.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.chart === "kube-prometheus-stack")!.inputs.values.grafana.sidecar.dashboards).toMatchObject({ enabled: true, label: "grafana_dashboard", labelValue: "1" });
  });
});

describe("MLflow", () => {
  let plan: Plan;
  beforeAll(async () => {
    plan = await planOnFakeFoundation("prod");
  });

  test("serves artifacts from the foundation's store with basic-auth, Prometheus metrics, and the workload identity", () => {
    const d = named(plan.objects, "Deployment", "mlflow");
    const c = d.spec.template.spec.containers[0];
    expect(c.command).toEqual(["python", "/opt/mlops/entrypoint.py"]);
    expect(c.args).toEqual(expect.arrayContaining(["mlflow", "server", "--serve-artifacts", `--artifacts-destination=${FAKE_FOUNDATION.artifactUri}`, "--app-name=basic-auth", "--expose-prometheus=/tmp/prometheus", "--port=5000", "--workers=4"]));
    expect(env(d)).toMatchObject({
      MLFLOW_BACKEND_STORE_URI: secretRef("mlflow-database", "backend-store-uri"),
      MLFLOW_AUTH_DATABASE_URI: secretRef("mlflow-database", "auth-database-uri"),
      MLFLOW_AUTH_ADMIN_PASSWORD: secretRef("mlflow-admin", "password"),
      MLFLOW_FLASK_SERVER_SECRET_KEY: secretRef("mlflow-server", "flask-secret-key"),
      MLFLOW_AUTH_CONFIG_PATH: "/tmp/auth/basic_auth.ini",
    });
    expect(d.spec.template.spec.serviceAccountName).toBe("mlflow");
    expect(d.spec.template.metadata.labels).toMatchObject(FAKE_FOUNDATION.podLabels);
    const sa = named(plan.objects, "ServiceAccount", "mlflow");
    expect(sa.metadata.annotations).toEqual(FAKE_FOUNDATION.annotations);
    expect(c.readinessProbe.httpGet).toEqual({ path: "/health", port: "http" });
    expect(named(plan.objects, "Service", "mlflow").spec.ports).toEqual([{ name: "http", port: 5000, targetPort: "http", protocol: "TCP" }]);
  });

  test("accounts have no permission by default: each service account has exactly its grants", () => {
    expect(env(named(plan.objects, "Deployment", "mlflow")).MLFLOW_AUTH_DEFAULT_PERMISSION).toBe("NO_PERMISSIONS");
  });

  test("schema migrations run in a Job before the Deployment rolls, after the databases exist", () => {
    const migrate = byKind(plan.objects, "Job").find((j) => j.metadata.name.startsWith("mlflow-db-upgrade-"))!;
    const c = migrate.spec.template.spec.containers[0];
    expect(c.command).toEqual(["python", "/opt/mlops/migrate_db.py"]);
    expect(c.env).toEqual([
      { name: "MLFLOW_BACKEND_STORE_URI", valueFrom: secretRef("mlflow-database", "backend-store-uri") },
      { name: "MLFLOW_AUTH_DATABASE_URI", valueFrom: secretRef("mlflow-database", "auth-database-uri") },
    ]);
    expect(dependsOn(named(plan.objects, "Deployment", "mlflow"), plan, "Job", "mlflow-db-upgrade-")).toBe(true);
    expect(dependsOn(migrate, plan, "Job", "db-init-")).toBe(true);
  });

  test("a new image is a new migration Job (same image, same Job)", async () => {
    const jobName = (p: Plan) => byKind(p.objects, "Job").find((j) => j.metadata.name.startsWith("mlflow-db-upgrade-"))!.metadata.name;
    const same = await planOnFakeFoundation("prod", {}, { host: "other.example" });
    const images = JSON.stringify({ registry: "registry.example.com/mlops", tag: "0.1.0" });
    const bumped = JSON.stringify({ registry: "registry.example.com/mlops", tag: "0.2.0" });
    const a = await planOnFakeFoundation("dev", { "mlops:images": images });
    const b = await planOnFakeFoundation("dev", { "mlops:images": bumped });
    expect(jobName(same)).toBe(jobName(plan));
    expect(jobName(a)).not.toBe(jobName(b));
  });

  test("service accounts: serving and drift read the models and their files, the monitor edits (moves aliases), Prometheus only logs in", () => {
    const job = byKind(plan.objects, "Job").find((j) => j.metadata.name.startsWith("mlflow-bootstrap-users-"))!;
    const e = env(job);
    const read = (model: string) => ({ model, permission: "READ", artifactsPermission: "READ" });
    expect(JSON.parse(e.MLOPS_MLFLOW_USERS)).toEqual([
      { username: "svc-serving", passwordEnv: "USER_PASSWORD_0", permissions: [read("fraud-detector"), read("churn-predictor")] },
      { username: "svc-drift", passwordEnv: "USER_PASSWORD_1", permissions: [read("fraud-detector"), read("churn-predictor")] },
      {
        username: "svc-monitor",
        passwordEnv: "USER_PASSWORD_2",
        // EDIT, not MANAGE: SetRegisteredModelAlias is an update; the monitor deletes nothing.
        permissions: [
          { model: "fraud-detector", permission: "EDIT" },
          { model: "churn-predictor", permission: "EDIT" },
        ],
      },
      { username: "svc-metrics", passwordEnv: "USER_PASSWORD_3", permissions: [] },
      {
        username: "svc-api",
        passwordEnv: "USER_PASSWORD_4",
        // MANAGE (it deletes registered models) and the files of the candidates its deploy gate runs,
        // on the served models now and on every registered model at each reconcile.
        permissions: [
          { model: "fraud-detector", permission: "MANAGE", artifactsPermission: "READ" },
          { model: "churn-predictor", permission: "MANAGE", artifactsPermission: "READ" },
        ],
        allModels: { permission: "MANAGE", artifactsPermission: "READ" },
      },
    ]);
    expect(e.USER_PASSWORD_2).toEqual(secretRef("mlflow-user-monitor", "password"));
    expect(e.MLFLOW_TRACKING_USERNAME).toEqual(secretRef("mlflow-admin", "username"));
    expect(dependsOn(job, plan, "Deployment", "mlflow")).toBe(true);
    for (const d of ["serving-fraud-detector", "drift-fraud-detector", "monitor", "platform-api"]) expect(dependsOn(named(plan.objects, "Deployment", d), plan, "Job", "mlflow-bootstrap-users-")).toBe(true);
    const cron = named(plan.objects, "CronJob", "mlflow-grant-permissions");
    expect(cron.spec.jobTemplate.spec.template.spec.containers[0].env).toEqual(job.spec.template.spec.containers[0].env);
  });

  test("the databases Job creates MLflow's, the monitor's and the platform API's databases with their own roles", () => {
    const job = byKind(plan.objects, "Job").find((j) => j.metadata.name.startsWith("db-init-"))!;
    const e = env(job);
    expect(JSON.parse(e.MLOPS_DATABASES)).toEqual([
      { database: "mlflow", owner: "mlops_mlflow", passwordEnv: "MLFLOW_DB_PASSWORD" },
      { database: "mlflow_auth", owner: "mlops_mlflow", passwordEnv: "MLFLOW_DB_PASSWORD" },
      { database: "monitor", owner: "mlops_monitor", passwordEnv: "MONITOR_DB_PASSWORD" },
      { database: "api", owner: "mlops_api", passwordEnv: "API_DB_PASSWORD" },
    ]);
    expect(e.PGPASSWORD).toEqual(secretRef("postgres-admin", "PGPASSWORD"));
    expect(e.API_DB_PASSWORD).toEqual(secretRef("postgres-platform-roles", "API_DB_PASSWORD"));
    for (const d of ["monitor", "platform-api"]) expect(dependsOn(named(plan.objects, "Deployment", d), plan, "Job", "db-init-")).toBe(true);
  });
});

describe("dev and config-driven variations", () => {
  test("serving, drift and the monitor accept the environment their Deployments give them (their own start-up schemas)", async () => {
    const { objects } = await planStack("prod");
    // What the kubelet would put there from the Secrets.
    const resolved = (d: K8sObject) =>
      Object.fromEntries(Object.entries(env(d)).map(([k, v]) => [k, typeof v === "string" ? v : secretValue(objects, (v as any).secretKeyRef)]));
    for (const model of ["fraud-detector", "churn-predictor"]) {
      const serving = servingEnvSchema.safeParse(resolved(named(objects, "Deployment", `serving-${model}`)));
      expect(serving.error?.issues ?? []).toEqual([]);
      expect(serving.data).toMatchObject({ MODEL_NAME: model, PORT: 8080, METRICS_PORT: 9090, EVENT_SINKS: [`http://drift-${model}.mlops.svc.cluster.local:8080`, "http://monitor.mlops.svc.cluster.local:8080"] });
      const drift = driftEnvSchema.safeParse(resolved(named(objects, "Deployment", `drift-${model}`)));
      expect(drift.error?.issues ?? []).toEqual([]);
      expect(drift.data).toMatchObject({ MODEL_NAME: model, WINDOW_MAX_ROWS: 10000, EVALUATION_INTERVAL_S: 60 });
    }
    // Its four tokens present, long enough and pairwise different; the alerts port its own; every model named.
    const monitor = monitorEnvSchema.safeParse(resolved(named(objects, "Deployment", "monitor")));
    expect(monitor.error?.issues ?? []).toEqual([]);
    expect(monitor.data).toMatchObject({ PORT: 8080, ALERT_PORT: 8081, METRICS_PORT: 9090 });
  });

  test("the drift detector's DRIFT_CONFIG is accepted by the drift service's own parser", async () => {
    const models = [{ name: "m", uri: "models:/m@champion", drift: { datasetDriftShare: 0.4, methods: { amount: "psi", time: "ks" } } }];
    const p = await planOnFakeFoundation("dev", { "mlops:models": JSON.stringify(models) });
    const config = parseDriftConfig(env(named(p.objects, "Deployment", "drift-m")).DRIFT_CONFIG, "DRIFT_CONFIG");
    expect(config).toMatchObject({ driftShare: 0.4, features: { amount: { method: "psi" }, time: { method: "ks" } }, minRows: 1000 });
  });

  test("dev: one replica each, no PDB, 7 days of Prometheus, serving HPA 1-3", async () => {
    const dev = await planStack("dev");
    expect(byKind(dev.objects, "PodDisruptionBudget")).toEqual([]);
    expect(named(dev.objects, "Deployment", "mlflow").spec.replicas).toBe(1);
    expect(named(dev.objects, "HorizontalPodAutoscaler", "serving-fraud-detector").spec).toMatchObject({ minReplicas: 1, maxReplicas: 3 });
    const values = dev.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.chart === "kube-prometheus-stack")!.inputs.values;
    expect(values.prometheus.prometheusSpec).toMatchObject({ retention: "7d", replicas: 1 });
  });

  test("serving's MAX_CHALLENGER_WEIGHT is the cap the API's deploys are held to (prod 10, dev 50); the API's own environment is unchanged", async () => {
    const [prod, dev] = [await planStack("prod"), await planStack("dev")];
    const apiEnv = (p: Plan) => env(named(p.objects, "Deployment", "platform-api"));
    for (const [environment, p, cap] of [["prod", prod, "10"], ["dev", dev, "50"]] as const) {
      const serving = env(named(p.objects, "Deployment", "serving-fraud-detector"));
      expect({ environment, cap: serving.MAX_CHALLENGER_WEIGHT }).toEqual({ environment, cap });
      // the API's effective cap, computed by its own rule from the environment the stack gives it
      const api = apiEnv(p);
      expect(challengerCap({ ENVIRONMENT: api.ENVIRONMENT, MAX_CHALLENGER_WEIGHT: api.MAX_CHALLENGER_WEIGHT === undefined ? undefined : Number(api.MAX_CHALLENGER_WEIGHT) })).toBe(Number(cap));
    }
    expect(apiEnv(dev).MAX_CHALLENGER_WEIGHT).toBeUndefined();
    expect(apiEnv(prod).MAX_CHALLENGER_WEIGHT).toBe("10");
    // the stack's rule for the API's default is the API's own
    for (const environment of ["dev", "prod"] as const) expect(API_DEFAULT_CHALLENGER_CAP[environment]).toBe(challengerCap({ ENVIRONMENT: environment, MAX_CHALLENGER_WEIGHT: undefined }));
    // a model without a challenger gets no challenger settings at all
    expect(env(named(prod.objects, "Deployment", "serving-churn-predictor")).MAX_CHALLENGER_WEIGHT).toBeUndefined();
  });

  test("shadow mode, per-model resources, alert actions and a retention override reach the workloads", async () => {
    const models = [
      {
        name: "fraud-detector",
        uri: "models:/fraud-detector/7",
        challenger: { uri: "models:/fraud-detector@challenger", shadow: true, weight: 0 },
        resources: { cpuRequest: "2", memoryRequest: "2Gi", cpuLimit: "4", memoryLimit: "4Gi" },
        replicas: { min: 2, max: 5 },
        eventSampleRate: 0.25,
        drift: { methods: { amount: "psi" }, referenceUri: "models:/fraud-detector@reference", webhookUrl: "https://hooks.example.com/drift?token=abc123" },
        alertActions: [
          { alert: "ModelQualityLow", action: "rollback" },
          { alert: "DataDriftCritical", action: "retrain" },
        ],
        retrainWebhookUrl: "https://ci.example.com/hooks/retrain",
      },
    ];
    const p = await planOnFakeFoundation("dev", { "mlops:models": JSON.stringify(models), "mlops:monitoring": JSON.stringify({ prometheusRetention: "15d", errorRatio: 0.05, apiLatencyP95Seconds: 0.8 }) });
    const serving = named(p.objects, "Deployment", "serving-fraud-detector");
    expect(env(serving)).toMatchObject({ MODEL_URI: "models:/fraud-detector/7", SHADOW: "true", CHALLENGER_WEIGHT: "0", EVENT_SAMPLE_RATE: "0.25" });
    expect(serving.spec.template.spec.containers[0].resources).toEqual({ requests: { cpu: "2", memory: "2Gi" }, limits: { cpu: "4", memory: "4Gi" } });
    expect(named(p.objects, "HorizontalPodAutoscaler", "serving-fraud-detector").spec).toMatchObject({ minReplicas: 2, maxReplicas: 5 });
    expect(env(named(p.objects, "Deployment", "drift-fraud-detector"))).toMatchObject({
      DRIFT_CONFIG: '{"driftShare":0.5,"features":{"amount":{"method":"psi"}}}',
      REFERENCE_URI: "models:/fraud-detector@reference",
    });
    // The retrain url (and drift's webhook url) may carry a token: both come from Secrets, as Pulumi secrets.
    const monitor = env(named(p.objects, "Deployment", "monitor"));
    expect(monitor.ALERT_ACTIONS).toEqual(secretRef("monitor-alert-actions", "alert-actions"));
    expect(JSON.parse(secretValue(p.objects, monitor.ALERT_ACTIONS.secretKeyRef))).toEqual([
      { alert: "ModelQualityLow", model: "fraud-detector", action: "rollback" },
      { alert: "DataDriftCritical", model: "fraud-detector", action: "retrain", url: "https://ci.example.com/hooks/retrain" },
    ]);
    const drift = env(named(p.objects, "Deployment", "drift-fraud-detector"));
    expect(drift.WEBHOOK_URLS).toEqual(secretRef("drift-fraud-detector-webhooks", "urls"));
    expect(secretValue(p.objects, drift.WEBHOOK_URLS.secretKeyRef)).toBe("https://hooks.example.com/drift?token=abc123");
    for (const name of ["monitor-alert-actions", "drift-fraud-detector-webhooks"]) expect(named(p.objects, "Secret", name).secretPaths).toEqual(expect.arrayContaining([expect.stringMatching(/^stringData/)]));
    // One signing key per webhook kind.
    expect(drift.WEBHOOK_SECRET).toEqual(secretRef("drift-webhook-signing", "secret"));
    expect(monitor.RETRAIN_WEBHOOK_SECRET).toEqual(secretRef("retrain-webhook-signing", "secret"));
    expect(secretValue(p.objects, drift.WEBHOOK_SECRET.secretKeyRef)).not.toBe(secretValue(p.objects, monitor.RETRAIN_WEBHOOK_SECRET.secretKeyRef));
    expect(JSON.stringify(p.objects.filter((o) => o.kind !== "Secret").map((o) => ({ ...o, resource: undefined })))).not.toMatch(/abc123|hooks\/retrain/);
    expect(p.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.chart === "kube-prometheus-stack")!.inputs.values.prometheus.prometheusSpec.retention).toBe("15d");
    expect(named(p.objects, "PrometheusRule", "mlops-alerts").spec.groups[0].rules[1].expr).toMatch(/\) > 0\.05$/);
    const apiRules = named(p.objects, "PrometheusRule", "mlops-alerts").spec.groups.flatMap((g: { rules: { alert: string; expr: string }[] }) => g.rules);
    expect(apiRules.find((r: { alert: string }) => r.alert === "PlatformApiLatencyHigh").expr).toMatch(/\) > 0\.8$/);
  });

  test("no models is refused with the reason: the monitor accepts events only for the models it is configured for", async () => {
    await expect(planOnFakeFoundation("dev", { "mlops:models": "[]" })).rejects.toThrow("models is empty: the quality monitor refuses the events of models it is not configured for");
  });

  test("a foundation whose MLflow identity lives in another namespace is refused, with the reason", async () => {
    await expect(planOnFakeFoundation("dev", {}, { namespace: "ml-platform" })).rejects.toThrow(
      'the foundation trusts MLflow\'s service account in namespace "ml-platform", but the platform runs in "mlops": they must be the same',
    );
  });

  test.each([
    [[{ name: "m", uri: "models:/m@champion", alertActions: [{ alert: "ModelQualityLow", action: "retrain" }] }], "mlops:models.0.retrainWebhookUrl", "a retrain action needs retrainWebhookUrl"],
    [[{ name: "m", uri: "models:/m@champion", alertActions: [{ alert: "ModelDown", action: "rollback" }] }], "mlops:models.0.alertActions.0.alert", "expected one of"],
    [[{ name: "m", uri: "models:/m@champion", drift: { webhookUrl: "http://plain.example.com" } }], "mlops:models.0.drift.webhookUrl", "expected an https:// URL"],
    [[{ name: "m", uri: "models:/m@champion", eventSampleRate: 0 }], "mlops:models.0.eventSampleRate", "0"],
  ])("bad model config is refused, naming the key: %j", async (models, key, message) => {
    const run = runProgram({ stack: "dev", overrides: { "mlops:models": JSON.stringify(models) } });
    await expect(run).rejects.toThrow(key);
    await expect(run).rejects.toThrow(message);
  });

  test("bad monitoring and image config is refused, naming the key", async () => {
    await expect(runProgram({ stack: "dev", overrides: { "mlops:monitoring": JSON.stringify({ driftShareWarning: 0.8, driftShareCritical: 0.5 }) } })).rejects.toThrow(
      "mlops:monitoring.driftShareWarning",
    );
    await expect(runProgram({ stack: "dev", overrides: { "mlops:images": JSON.stringify({ registry: "https://ecr.example.com", tag: "1" }) } })).rejects.toThrow("mlops:images.registry");
    await expect(runProgram({ stack: "dev", overrides: { "mlops:images": JSON.stringify({ registry: "ecr.example.com/x", tag: "latest" }) } })).rejects.toThrow(
      'mlops:images.tag: got "latest"; "latest" is not a pin',
    );
  });
});

describe("per-model settings from mlops:models reach the workloads", () => {
  const PROD_MODELS = [
    { name: "fraud-detector", uri: "models:/fraud-detector@champion", resources: { cpuLimit: "4" } },
    { name: "churn-predictor", uri: "models:/churn-predictor@champion" },
  ];
  const containerResources = (p: Plan, model: string) => named(p.objects, "Deployment", `serving-${model}`).spec.template.spec.containers[0].resources;

  test("prod: a model overriding only cpuLimit keeps the prod profile's other three values", async () => {
    const serving = PROFILES.prod.workloads.resources.serving;
    expect(serving).toEqual({ cpuRequest: "500m", memoryRequest: "512Mi", cpuLimit: "2", memoryLimit: "1Gi" });
    const p = await planOnFakeFoundation("prod", { "mlops:models": JSON.stringify(PROD_MODELS) });
    expect(containerResources(p, "fraud-detector")).toEqual({ requests: { cpu: "500m", memory: "512Mi" }, limits: { cpu: "4", memory: "1Gi" } });
    expect(containerResources(p, "churn-predictor")).toEqual({ requests: { cpu: "500m", memory: "512Mi" }, limits: { cpu: "2", memory: "1Gi" } });
  });

  test("a partial override whose limit falls under the profile's request is refused, naming the key", async () => {
    const models = [{ ...PROD_MODELS[0], resources: { cpuLimit: "250m" } }];
    await expect(planOnFakeFoundation("prod", { "mlops:models": JSON.stringify(models) })).rejects.toThrow(
      "mlops:models.0.resources: cpuRequest 500m exceeds cpuLimit 250m (unset fields are the environment profile's",
    );
  });

  test("the monitor's MODELS_CONFIG carries a regression and a multi-class model, exactly as the monitor's own parser reads them", async () => {
    const models = [
      { name: "fraud-detector", uri: "models:/fraud-detector@champion" },
      { name: "house-price", uri: "models:/house-price/4", quality: { task: "regression", predictionOutput: "price" } },
      {
        name: "iris",
        uri: "models:/iris@champion",
        accuracyThreshold: 0.9,
        quality: { task: "classification", predictionOutput: "species", scoreOutput: "probabilities", scoreIndex: 2, positiveClass: "virginica" },
      },
    ];
    const p = await planOnFakeFoundation("dev", { "mlops:models": JSON.stringify(models) });
    const text = env(named(p.objects, "Deployment", "monitor")).MODELS_CONFIG;
    expect(JSON.parse(text)).toEqual({
      // No `quality`: named all the same (the monitor's defaults), or its events would be refused.
      "fraud-detector": {},
      "house-price": { task: "regression", predictionOutput: "price" },
      iris: { task: "classification", predictionOutput: "species", scoreOutput: "probabilities", scoreIndex: 2, positiveClass: "virginica" },
    });
    const parsed = parseModelsConfig(text, "MODELS_CONFIG");
    expect(parsed.names.sort()).toEqual(["fraud-detector", "house-price", "iris"]);
    expect(parsed.get("house-price")).toEqual({ task: "regression", predictionOutput: "price", scoreIndex: 0, positiveClass: "" });
    expect(parsed.get("iris")).toEqual({ task: "classification", predictionOutput: "species", scoreOutput: "probabilities", scoreIndex: 2, positiveClass: "virginica" });
    // A model without `quality` is the demo's shape: the monitor's defaults.
    expect(parsed.get("fraud-detector")).toEqual(DEFAULT_CLASSIFIER);
  });

  test("stacks without `quality` name every served model in MODELS_CONFIG, with the monitor's defaults", async () => {
    const p = await planStack("prod");
    expect(JSON.parse(env(named(p.objects, "Deployment", "monitor")).MODELS_CONFIG)).toEqual({ "fraud-detector": {}, "churn-predictor": {} });
  });

  test("one namespace constant: the workloads run where the clouds' identities trust MLflow", async () => {
    expect(MLFLOW_SERVICE_ACCOUNT).toEqual({ namespace: NAMESPACES.platform, name: "mlflow" });
    const p = await planStack("prod");
    // The Platform's own namespaces (the day-2 add-ons, Velero and the log shipper, have theirs beside it).
    const platformNamespaces = byKind(p.objects, "Namespace").filter((n) => n.resource.urn.includes("mlops:kubernetes:Platform$"));
    expect(platformNamespaces.map((n) => n.metadata.name).sort()).toEqual([NAMESPACES.monitoring, NAMESPACES.platform].sort());
    const account = named(p.objects, "ServiceAccount", MLFLOW_SERVICE_ACCOUNT.name);
    expect(account.metadata.namespace).toBe(NAMESPACES.platform);
  });
});

/** The value a secretKeyRef points at, as the kubelet would read it (the Secret must exist and have the key). */
function secretValue(objects: K8sObject[], ref: { name: string; key: string }): string {
  const value = objects.find((o) => o.kind === "Secret" && o.metadata.name === ref.name)?.stringData?.[ref.key];
  if (typeof value !== "string") throw new Error(`no Secret ${ref.name} with key ${ref.key}`);
  return value;
}
