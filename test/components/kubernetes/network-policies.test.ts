import { planOnFakeFoundation, planStack, podTemplates, type K8sObject } from "./support/plan";
import { Cluster, policyPorts, type Endpoint, type Policy } from "./support/network";

/**
 * The NetworkPolicies allow exactly the platform's data flow: the allowed connections are computed
 * from the rendered policies by an independent evaluator and compared with the list below, written
 * from ARCHITECTURE.md's data flow (plus DNS, scraping, the Kubernetes API for the monitoring stack
 * and the bootstrap Jobs).
 */
const CLIENT_NS = "shop";

/** Pods of the monitoring stack, with the labels kube-prometheus-stack gives them. */
const MONITORING_PODS: Endpoint[] = [
  { id: "prometheus", namespace: "monitoring", labels: { "app.kubernetes.io/name": "prometheus", prometheus: "kube-prometheus-stack-prometheus" }, listens: [9090] },
  { id: "alertmanager", namespace: "monitoring", labels: { "app.kubernetes.io/name": "alertmanager" }, listens: [9093, 9094] },
  { id: "grafana", namespace: "monitoring", labels: { "app.kubernetes.io/name": "grafana" }, listens: [3000] },
  { id: "kube-state-metrics", namespace: "monitoring", labels: { "app.kubernetes.io/name": "kube-state-metrics" }, listens: [8080] },
  { id: "operator", namespace: "monitoring", labels: { app: "kube-prometheus-stack-operator" }, listens: [8080] },
];
const OTHERS: Endpoint[] = [
  { id: "kube-dns", namespace: "kube-system", labels: { "k8s-app": "kube-dns" }, listens: [53, 9153] },
  { id: "client", namespace: CLIENT_NS, labels: { app: "storefront" }, listens: [8080] },
  { id: "stranger", namespace: "other", labels: { app: "unrelated" }, listens: [8080] },
  { id: "external", labels: {} },
];

function endpoints(objects: K8sObject[]): Endpoint[] {
  const ours = podTemplates(objects).map(({ spec, labels, owner }) => ({
    id: labels["app.kubernetes.io/instance"],
    namespace: owner.metadata.namespace,
    labels,
    listens: spec.containers.flatMap((c: any) => (c.ports ?? []).map((p: any) => p.containerPort)),
  }));
  return [...ours, ...MONITORING_PODS, ...OTHERS];
}

function cluster(objects: K8sObject[]): Cluster {
  const namespaces: Record<string, Record<string, string>> = { [CLIENT_NS]: { "mlops-platform/client": "true" }, other: {}, "kube-system": {} };
  for (const ns of objects.filter((o) => o.kind === "Namespace")) namespaces[ns.metadata.name] = ns.metadata.labels ?? {};
  return new Cluster(objects.filter((o) => o.kind === "NetworkPolicy") as unknown as Policy[], namespaces);
}

/** Allowed connections that involve the platform (our namespace or the monitoring stack's). */
function allowedFlows(objects: K8sObject[]): string[] {
  const eps = endpoints(objects);
  const policies = objects.filter((o) => o.kind === "NetworkPolicy") as unknown as Policy[];
  const ours = new Set(["mlops", "monitoring"]);
  const inside = (id: string) => ours.has(eps.find((e) => e.id === id)?.namespace ?? "");
  return cluster(objects)
    .allowedFlows(eps, policyPorts(policies, [22, 80, 443, 3000, 5000, 5432, 8080, 8081, 9090, 9093]))
    .filter((f) => {
      const [, src, dst] = /^(\S+) -> ([^:]+):/.exec(f)!;
      const bothMonitoring = eps.find((e) => e.id === src)?.namespace === "monitoring" && eps.find((e) => e.id === dst)?.namespace === "monitoring";
      return (inside(src) || inside(dst)) && !bothMonitoring;
    });
}

interface ExpectedArgs {
  models: { name: string; drift: boolean; driftWebhook?: boolean }[];
  monitorWebhooks?: boolean;
}

/** The platform's data flow, written out by hand. */
function expectedFlows(args: ExpectedArgs): string[] {
  const f: string[] = [];
  const tcp = (from: string, to: string, ...ports: number[]) => ports.forEach((p) => f.push(`${from} -> ${to}:${p}/TCP`));
  const jobs = ["db-init", "mlflow-db-upgrade", "mlflow-bootstrap-users", "mlflow-grant-permissions"];
  const monitoringPods = MONITORING_PODS.map((p) => p.id);
  const platformPods = ["mlflow", "monitor", "platform-api", ...jobs, ...args.models.flatMap((m) => [`serving-${m.name}`, ...(m.drift ? [`drift-${m.name}`] : [])])];
  for (const pod of [...platformPods, ...monitoringPods]) f.push(`${pod} -> kube-dns:53/TCP`, `${pod} -> kube-dns:53/UDP`);
  // Entry points, for namespaces labelled as clients only: the platform API (the front door), MLflow,
  // Grafana and serving (below); the monitor only through the API.
  tcp("client", "platform-api", 8080);
  tcp("client", "mlflow", 5000);
  tcp("client", "grafana", 3000);
  // MLflow: its database and bucket (outside the cluster), and who may call it.
  tcp("mlflow", "external", 443, 5432);
  tcp("monitor", "mlflow", 5000);
  tcp("monitor", "external", 5432);
  // The platform API: the registry, the monitor, its database, its users' webhooks (HTTPS anywhere).
  tcp("platform-api", "mlflow", 5000);
  tcp("platform-api", "monitor", 8080);
  tcp("platform-api", "external", 443, 5432);
  tcp("prometheus", "platform-api", 9090);
  if (args.monitorWebhooks) tcp("monitor", "external", 443);
  tcp("db-init", "external", 5432);
  tcp("mlflow-db-upgrade", "external", 5432);
  tcp("mlflow-bootstrap-users", "mlflow", 5000);
  tcp("mlflow-grant-permissions", "mlflow", 5000);
  for (const m of args.models) {
    const serving = `serving-${m.name}`;
    tcp("client", serving, 8080);
    tcp("platform-api", serving, 8080);
    tcp(serving, "monitor", 8080);
    tcp(serving, "mlflow", 5000);
    tcp("prometheus", serving, 9090);
    if (m.drift) {
      const drift = `drift-${m.name}`;
      tcp(serving, drift, 8080);
      tcp("platform-api", drift, 8080);
      tcp(drift, "mlflow", 5000);
      tcp("prometheus", drift, 9090);
      if (m.driftWebhook) tcp(drift, "external", 443);
    }
  }
  // Monitoring: scraping, alerts to the monitor, the Kubernetes API and the nodes.
  tcp("prometheus", "monitor", 9090);
  tcp("prometheus", "mlflow", 5000);
  tcp("prometheus", "external", 9100, 10250);
  tcp("prometheus", "kube-dns", 9153);
  // The monitor's alerts port (POST /v1/alerts), for Alertmanager alone.
  tcp("alertmanager", "monitor", 8081);
  for (const pod of monitoringPods) tcp(pod, "external", 443, 6443);
  return f.sort();
}

describe("network policies allow exactly the listed flows", () => {
  test("dev (one model with drift)", async () => {
    const { objects } = await planStack("dev");
    expect(allowedFlows(objects)).toEqual(expectedFlows({ models: [{ name: "fraud-detector", drift: true }] }));
  });

  test("prod (two models): each serving reaches its own drift detector only", async () => {
    const { objects } = await planStack("prod");
    const flows = allowedFlows(objects);
    expect(flows).toEqual(expectedFlows({ models: [{ name: "fraud-detector", drift: true }, { name: "churn-predictor", drift: true }] }));
    expect(flows).not.toContain("serving-fraud-detector -> drift-churn-predictor:8080/TCP");
  });

  test("webhooks open HTTPS egress for exactly the pods that call them; a model without drift has no drift flows", async () => {
    const models = [
      { name: "fraud-detector", uri: "models:/fraud-detector@champion", drift: { webhookUrl: "https://hooks.example.com/drift" } },
      {
        name: "churn",
        uri: "models:/churn@champion",
        drift: { enabled: false },
        alertActions: [{ alert: "ModelQualityLow", action: "retrain" }],
        retrainWebhookUrl: "https://ci.example.com/retrain",
      },
    ];
    const { objects } = await planOnFakeFoundation("dev", { "mlops:models": JSON.stringify(models) });
    expect(allowedFlows(objects)).toEqual(
      expectedFlows({ models: [{ name: "fraud-detector", drift: true, driftWebhook: true }, { name: "churn", drift: false }], monitorWebhooks: true }),
    );
  });

  test("artifacts on a volume and the foundation's tolerations change no flow (a claim is not a network peer)", async () => {
    const volume = { claimName: "mlflow-artifacts", mountPath: "/mlflow-artifacts", size: "10Gi", accessMode: "ReadWriteOnce" as const };
    const spot = { key: "kubernetes.azure.com/scalesetpriority", operator: "Equal" as const, value: "spot", effect: "NoSchedule" as const };
    const { objects } = await planOnFakeFoundation("dev", {}, { artifactUri: "file:///mlflow-artifacts", artifactVolume: volume, tolerations: [spot] });
    expect(objects.some((o) => o.kind === "PersistentVolumeClaim")).toBe(true);
    expect(allowedFlows(objects)).toEqual(expectedFlows({ models: [{ name: "fraud-detector", drift: true }] }));
  });

  test("the comparison is sensitive: without one allow policy, its flows disappear", async () => {
    const { objects } = await planStack("dev");
    const withoutServing = objects.filter((o) => !(o.kind === "NetworkPolicy" && o.metadata.name === "allow-serving-fraud-detector"));
    const missing = expectedFlows({ models: [{ name: "fraud-detector", drift: true }] }).filter((f) => !allowedFlows(withoutServing).includes(f));
    expect(missing).toEqual(
      expect.arrayContaining(["client -> serving-fraud-detector:8080/TCP", "serving-fraud-detector -> drift-fraud-detector:8080/TCP", "prometheus -> serving-fraud-detector:9090/TCP"]),
    );
  });

  test("the monitor's alerts port (8081) is open to Alertmanager's pods only: no client namespace, no serving pod, no other peer", async () => {
    for (const { objects } of [await planStack("dev"), await planStack("prod")]) {
      const policies = objects.filter((o) => o.kind === "NetworkPolicy");
      const monitorPolicy = policies.find((p) => p.metadata.namespace === "mlops" && p.metadata.name === "allow-monitor")!;
      const opens8081 = (monitorPolicy.spec.ingress ?? []).filter((rule: any) => !rule.ports || rule.ports.some((p: any) => p.port === 8081));
      // Exactly one ingress rule reaches 8081, it names only that port, and its only peer is Alertmanager's pods in monitoring.
      expect(opens8081).toEqual([
        {
          from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } }, podSelector: { matchLabels: { "app.kubernetes.io/name": "alertmanager" } } }],
          ports: [{ port: 8081, protocol: "TCP" }],
        },
      ]);
      // No rule of any policy admitting client namespaces (a namespaceSelector without a podSelector) includes 8081 or all ports.
      const clientRules = policies.flatMap((p) => (p.spec.ingress ?? []).filter((rule: any) => (rule.from ?? []).some((peer: any) => peer.namespaceSelector?.matchLabels?.["mlops-platform/client"])));
      expect(clientRules.length).toBeGreaterThan(0);
      for (const rule of clientRules) expect(rule.ports?.map((p: any) => p.port)).not.toContain(8081);
      for (const rule of clientRules) expect(rule.ports).toBeDefined();
      // The evaluator agrees: Alertmanager reaches 8081, a client, a serving pod and Prometheus do not; Alertmanager no longer reaches the API port.
      const flows = allowedFlows(objects);
      expect(flows.filter((f) => f.includes("-> monitor:8081/"))).toEqual(["alertmanager -> monitor:8081/TCP"]);
      expect(flows).not.toContain("alertmanager -> monitor:8080/TCP");
      expect(flows).not.toContain("client -> monitor:8080/TCP");
      expect(flows).toContain("platform-api -> monitor:8080/TCP");
    }
  });

  test("from outside the namespace, among the platform's services only the API is reachable (and serving, for clients of its protocols); an unlabelled namespace reaches nothing", async () => {
    for (const { objects } of [await planStack("dev"), await planStack("prod")]) {
      const flows = allowedFlows(objects);
      const targets = (from: string) => [...new Set(flows.filter((f) => f.startsWith(`${from} -> `)).map((f) => /-> ([^:]+):/.exec(f)![1]))].sort();
      const services = targets("client").filter((t) => !["mlflow", "grafana"].includes(t));
      expect(services).toEqual(["platform-api", ...services.filter((t) => t.startsWith("serving-"))].sort());
      expect(targets("stranger")).toEqual([]);
    }
  });

  test("every namespace of ours starts from deny-all, for both directions", async () => {
    const { objects } = await planStack("prod");
    for (const ns of ["mlops", "monitoring"]) {
      const deny = objects.find((o) => o.kind === "NetworkPolicy" && o.metadata.namespace === ns && o.metadata.name === "default-deny")!;
      expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    }
  });

  test("the monitoring stack's own components may talk to each other (Grafana -> Prometheus -> Alertmanager)", async () => {
    const { objects } = await planStack("prod");
    const c = cluster(objects);
    const ep = (id: string) => MONITORING_PODS.find((p) => p.id === id)!;
    expect(c.allowed(ep("grafana"), ep("prometheus"), 9090)).toBe(true);
    expect(c.allowed(ep("prometheus"), ep("alertmanager"), 9093)).toBe(true);
    expect(c.allowed(OTHERS[1], ep("prometheus"), 9090)).toBe(false);
  });

  test("the evaluator itself: deny-all blocks, a matching allow opens one port in one direction", () => {
    const a: Endpoint = { id: "a", namespace: "n", labels: { app: "a" } };
    const b: Endpoint = { id: "b", namespace: "n", labels: { app: "b" } };
    const deny: Policy = { metadata: { name: "deny", namespace: "n" }, spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } };
    expect(new Cluster([deny], {}).allowed(a, b, 80)).toBe(false);
    const allow: Policy[] = [
      deny,
      { metadata: { name: "a-out", namespace: "n" }, spec: { podSelector: { matchLabels: { app: "a" } }, policyTypes: ["Egress"], egress: [{ to: [{ podSelector: { matchLabels: { app: "b" } } }], ports: [{ port: 80 }] }] } },
      { metadata: { name: "b-in", namespace: "n" }, spec: { podSelector: { matchLabels: { app: "b" } }, policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: { matchLabels: { app: "a" } } }], ports: [{ port: 80 }] }] } },
    ];
    const c = new Cluster(allow, {});
    expect(c.allowed(a, b, 80)).toBe(true);
    expect(c.allowed(a, b, 81)).toBe(false);
    expect(c.allowed(b, a, 80)).toBe(false);
    expect(c.allowed(a, b, 80, "UDP")).toBe(false);
  });
});
