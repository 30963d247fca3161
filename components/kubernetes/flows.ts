import { API_NAME, CLIENT_NAMESPACE_LABEL, MLFLOW_NAME, MONITOR_NAME, PORTS, driftName, servingName } from "./constants";
import { selectorLabels } from "./labels";
import type { Flow, Peer, Port } from "./network-policies";

export interface FlowArgs {
  platformNamespace: string;
  monitoringNamespace: string;
  /** Served models; `drift`: whether the model has a drift detector, `driftWebhook`: whether it calls a webhook (HTTPS, outside the cluster). */
  models: { name: string; drift: boolean; driftWebhook: boolean }[];
  /** Whether the monitor calls retraining webhooks (HTTPS, outside the cluster). */
  monitorWebhooks: boolean;
  /** Ports other than 443 that Alertmanager's receivers listen on outside the cluster (SMTP relays, webhooks). */
  alertmanagerEgressPorts?: number[];
  /** The ingress controller's pods and what it exposes (components/kubernetes/ingress.ts): it reaches exactly those services' ports. */
  ingress?: { namespace: string; selector: Record<string, string>; mlflow: boolean; grafana: boolean; api: boolean; models: string[] };
}

const tcp = (...ports: number[]): Port[] => ports.map((port) => ({ port, protocol: "TCP" as const }));

/**
 * Every connection the platform makes, and nothing else (ARCHITECTURE.md "Data flow at run time").
 * The database and the artifact store live outside the cluster at addresses a cloud-neutral
 * component cannot know: their flows are egress to any address on 5432 and 443.
 */
export function platformFlows(args: FlowArgs): Flow[] {
  const P = args.platformNamespace;
  const M = args.monitoringNamespace;
  const pods = (namespace: string, name: string, selector: Record<string, string>): Peer => ({ kind: "pods", name, namespace, selector });
  const app = (namespace: string, name: string) => pods(namespace, name, { "app.kubernetes.io/name": name });
  const instance = (appName: string, name: string) => pods(P, name, selectorLabels({ name: appName, instance: name }));

  const mlflow = instance(MLFLOW_NAME, MLFLOW_NAME);
  const monitor = instance("monitor", MONITOR_NAME);
  const api = instance("api", API_NAME);
  const dbInit = app(P, "db-init");
  const migrate = app(P, "mlflow-db-upgrade");
  const bootstrap = app(P, "mlflow-bootstrap");
  const prometheus = app(M, "prometheus");
  const alertmanager = app(M, "alertmanager");
  const grafana = app(M, "grafana");
  const allPlatform = pods(P, "all-pods", {});
  const allMonitoring = pods(M, "all-pods", {});
  const dns = pods("kube-system", "kube-dns", { "k8s-app": "kube-dns" });
  const clients: Peer = { kind: "namespaces", name: "clients", selector: { [CLIENT_NAMESPACE_LABEL]: "true" } };
  const anywhere: Peer = { kind: "anywhere", name: "anywhere" };
  const dnsPorts: Port[] = [
    { port: PORTS.dns, protocol: "UDP" },
    { port: PORTS.dns, protocol: "TCP" },
  ];

  const flows: Flow[] = [
    { from: allPlatform, to: dns, ports: dnsPorts, why: "name resolution" },
    { from: allMonitoring, to: dns, ports: dnsPorts, why: "name resolution" },
    // The front door: people and applications reach the registry, serving, drift and the monitor through it.
    { from: clients, to: api, ports: tcp(PORTS.api), why: "the platform API" },
    { from: api, to: mlflow, ports: tcp(PORTS.mlflow), why: "the model registry (aliases, tags, models) and its artifact proxy (the deploy gate's model files)" },
    { from: api, to: monitor, ports: tcp(PORTS.api), why: "ground-truth feedback and quality queries, with the monitor's tokens" },
    { from: api, to: anywhere, ports: tcp(PORTS.postgres), why: "the API's database" },
    // Webhook receivers are registered by the API's users at run time: any HTTPS address.
    { from: api, to: anywhere, ports: tcp(PORTS.https), why: "the API's webhooks" },
    { from: prometheus, to: api, ports: tcp(PORTS.metrics), why: "scrape" },
    { from: clients, to: mlflow, ports: tcp(PORTS.mlflow), why: "data scientists and CI register models" },
    { from: clients, to: grafana, ports: tcp(PORTS.grafana), why: "dashboards" },
    { from: monitor, to: mlflow, ports: tcp(PORTS.mlflow), why: "rollback moves the champion alias" },
    { from: monitor, to: anywhere, ports: tcp(PORTS.postgres), why: "the monitor's database" },
    { from: mlflow, to: anywhere, ports: tcp(PORTS.postgres), why: "the backend store" },
    { from: mlflow, to: anywhere, ports: tcp(PORTS.https), why: "the artifact store (and the cloud's token endpoint)" },
    { from: dbInit, to: anywhere, ports: tcp(PORTS.postgres), why: "creates the databases and roles" },
    { from: migrate, to: anywhere, ports: tcp(PORTS.postgres), why: "schema migrations" },
    { from: bootstrap, to: mlflow, ports: tcp(PORTS.mlflow), why: "creates the service accounts" },
    { from: prometheus, to: monitor, ports: tcp(PORTS.metrics), why: "scrape" },
    { from: prometheus, to: mlflow, ports: tcp(PORTS.mlflow), why: "scrape (MLflow serves /metrics on its API port)" },
    // The receiver's own port: client namespaces and serving reach the monitor's API port, never this one.
    { from: alertmanager, to: monitor, ports: tcp(PORTS.alerts), why: "alert notifications to /v1/alerts (the monitor's alerts port)" },
    { from: allMonitoring, to: allMonitoring, why: "the monitoring stack's components talk to each other" },
    { from: allMonitoring, to: anywhere, ports: tcp(443, 6443), why: "the Kubernetes API (discovery, kube-state-metrics, Grafana's sidecar)" },
    { from: prometheus, to: anywhere, ports: tcp(10250, 9100), why: "kubelets and node-exporter, on node addresses" },
    { from: prometheus, to: dns, ports: tcp(9153), why: "CoreDNS metrics" },
  ];
  if (args.monitorWebhooks) flows.push({ from: monitor, to: anywhere, ports: tcp(PORTS.https), why: "retraining webhooks" });
  if (args.alertmanagerEgressPorts?.length) {
    flows.push({ from: alertmanager, to: anywhere, ports: tcp(...args.alertmanagerEgressPorts), why: "receivers outside the cluster on their own ports (SMTP relays, webhooks)" });
  }
  const ingress = args.ingress && pods(args.ingress.namespace, "ingress-controller", args.ingress.selector);
  if (ingress && args.ingress!.mlflow) flows.push({ from: ingress, to: mlflow, ports: tcp(PORTS.mlflow), why: "MLflow's public endpoint (basic auth)" });
  if (ingress && args.ingress!.grafana) flows.push({ from: ingress, to: grafana, ports: tcp(PORTS.grafana), why: "Grafana's public endpoint (its login)" });
  if (ingress && args.ingress!.api) flows.push({ from: ingress, to: api, ports: tcp(PORTS.api), why: "the platform API's public endpoint (its tokens and API keys)" });
  for (const model of ingress ? args.ingress!.models : []) {
    flows.push({ from: ingress!, to: instance("serving", servingName(model)), ports: tcp(PORTS.api), why: "the model's public inference endpoint (API keys)" });
  }

  for (const model of args.models) {
    const serving = instance("serving", servingName(model.name));
    flows.push(
      // Clients that speak the inference protocols directly (with their API keys); the API is the documented front door.
      { from: clients, to: serving, ports: tcp(PORTS.api), why: "inference" },
      { from: api, to: serving, ports: tcp(PORTS.api), why: "predictions through the API (its serving API key)" },
      { from: serving, to: monitor, ports: tcp(PORTS.api), why: "prediction events" },
      { from: serving, to: mlflow, ports: tcp(PORTS.mlflow), why: "model registry and artifact proxy" },
      { from: prometheus, to: serving, ports: tcp(PORTS.metrics), why: "scrape" },
    );
    if (!model.drift) continue;
    const drift = instance("drift", driftName(model.name));
    flows.push(
      { from: serving, to: drift, ports: tcp(PORTS.api), why: "prediction events" },
      { from: api, to: drift, ports: tcp(PORTS.api), why: "drift status and history" },
      { from: drift, to: mlflow, ports: tcp(PORTS.mlflow), why: "reference profile" },
      { from: prometheus, to: drift, ports: tcp(PORTS.metrics), why: "scrape" },
    );
    if (model.driftWebhook) flows.push({ from: drift, to: anywhere, ports: tcp(PORTS.https), why: "drift webhooks" });
  }
  return flows;
}
