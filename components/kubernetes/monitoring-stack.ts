import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { Toleration } from "../contracts";
import type { RuleGroup } from "./alert-rules";
import { ALERTMANAGER_SECRETS_DIR, RECEIVER_CREDENTIALS_SECRET, alertmanagerConfig, credentialValues, type AlertRouting } from "./alertmanager-config";
import type { Dashboard } from "./dashboards";
import { pinnedRelease } from "./helm-release";
import { recommendedLabels } from "./labels";
import type { ResourceSpec } from "./pod";

/**
 * The pinned kube-prometheus-stack chart (prometheus-community). Bump here, read the chart's
 * upgrade notes (CRDs are not upgraded by Helm), and run the tests.
 */
export const KUBE_PROMETHEUS_STACK = {
  chart: "kube-prometheus-stack",
  version: "79.12.0",
  repo: "https://prometheus-community.github.io/helm-charts",
  /** Helm release name; with it the chart names its objects `kube-prometheus-stack-*`. */
  release: "kube-prometheus-stack",
} as const;

/** The Grafana sidecar loads ConfigMaps carrying this label as dashboards. */
export const DASHBOARD_LABEL = { grafana_dashboard: "1" } as const;

export interface MonitoringStackArgs {
  namespace: pulumi.Input<string>;
  namespaceName: string;
  prometheus: { replicas: number; retention: string; storage: string; resources: ResourceSpec };
  /** Prometheus' volume claims name this StorageClass; the release waits for what it needs. */
  storage: { className: string; dependsOn: pulumi.Resource[] };
  /**
   * `routing`: the people's receivers and routes (alertmanager-config.ts), every credential it needs
   * given (a Pulumi secret; credentialSlots lists them); none: every alert goes to the monitor.
   */
  alertmanager: { replicas: number; webhookUrl: string; bearerToken: pulumi.Input<string>; routing?: AlertRouting<pulumi.Input<string>> };
  /** `publicUrl`: where the ingress publishes Grafana (`https://<host>/`): its root URL, secure cookies. */
  grafana: { resources: ResourceSpec; publicUrl?: string };
  /** The foundation's tolerations: every pod of the chart carries them too. Empty or unset: the chart's defaults. */
  tolerations?: Toleration[];
  alertRules: RuleGroup[];
  dashboards: Dashboard[];
}

const ALERT_TOKEN_SECRET = "alertmanager-monitor-token";

/**
 * Prometheus, Alertmanager and Grafana from kube-prometheus-stack (CRDs included), the platform's
 * PrometheusRule and dashboards. `crds` is the Helm release: whatever uses a prometheus-operator
 * kind depends on it.
 */
export class MonitoringStack extends pulumi.ComponentResource {
  readonly crds: k8s.helm.v3.Release;
  readonly grafanaAdminSecretName: pulumi.Output<string>;
  readonly prometheusUrl: string;
  readonly grafanaUrl: string;

  constructor(name: string, args: MonitoringStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mlops:kubernetes:MonitoringStack", name, {}, opts);
    const parent = { parent: this };
    const labels = recommendedLabels({ name: "monitoring", instance: "mlops-monitoring", component: "monitoring" });
    const ns = args.namespaceName;
    const svc = (suffix: string, port: number) => `http://${KUBE_PROMETHEUS_STACK.release}-${suffix}.${ns}.svc.cluster.local:${port}`;
    this.prometheusUrl = svc("prometheus", 9090);
    this.grafanaUrl = svc("grafana", 80);

    const grafanaPassword = new random.RandomPassword(`${name}-grafana-admin-password`, { length: 32, special: false }, { ...parent, additionalSecretOutputs: ["result"] });
    const grafanaAdmin = new k8s.core.v1.Secret(
      `${name}-grafana-admin`,
      { metadata: { name: "grafana-admin", namespace: args.namespace, labels }, type: "Opaque", stringData: { "admin-user": "admin", "admin-password": grafanaPassword.result } },
      parent,
    );
    const alertToken = new k8s.core.v1.Secret(
      `${name}-alert-token`,
      { metadata: { name: ALERT_TOKEN_SECRET, namespace: args.namespace, labels }, type: "Opaque", stringData: { token: args.alertmanager.bearerToken } },
      parent,
    );
    this.grafanaAdminSecretName = grafanaAdmin.metadata.name;
    const receiverCredentials = receiverCredentialsSecret(`${name}-alert-receivers`, args, labels, parent);

    this.crds = pinnedRelease(
      `${name}-kube-prometheus-stack`,
      {
        pin: KUBE_PROMETHEUS_STACK,
        namespace: args.namespace,
        // Helm installs the chart's crds/ before its templates; Pulumi waits for the release.
        skipCrds: false,
        timeout: 900,
        values: kubePrometheusStackValues(args, grafanaAdmin.metadata.name),
      },
      // Prometheus' claims stay Pending, and the atomic release rolls back, without the StorageClass.
      { ...parent, dependsOn: [grafanaAdmin, alertToken, ...(receiverCredentials ? [receiverCredentials] : []), ...args.storage.dependsOn] },
    );

    new k8s.apiextensions.CustomResource(
      `${name}-alert-rules`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: { name: "mlops-alerts", namespace: args.namespace, labels },
        spec: { groups: args.alertRules },
      },
      { ...parent, dependsOn: [this.crds] },
    );

    for (const dashboard of args.dashboards) {
      new k8s.core.v1.ConfigMap(
        `${name}-dashboard-${dashboard.uid}`,
        {
          metadata: { name: `dashboard-${dashboard.uid}`, namespace: args.namespace, labels: { ...labels, ...DASHBOARD_LABEL } },
          data: { [`${dashboard.uid}.json`]: JSON.stringify(dashboard, null, 2) },
        },
        parent,
      );
    }
    this.registerOutputs({ prometheusUrl: this.prometheusUrl, grafanaUrl: this.grafanaUrl });
  }
}

/**
 * The receivers' credentials (Slack webhook URLs, PagerDuty routing keys, SMTP passwords, webhook tokens),
 * one key per credential, each a Pulumi secret; Alertmanager mounts the Secret and its configuration
 * names the files. None when the routing needs no credential.
 */
function receiverCredentialsSecret(resourceName: string, args: MonitoringStackArgs, labels: Record<string, string>, opts: pulumi.CustomResourceOptions): k8s.core.v1.Secret | undefined {
  const credentials = credentialValues(args.alertmanager.routing);
  if (!credentials.length) return undefined;
  const missing = credentials.filter((c) => c.value === undefined).map((c) => `${c.slot.receiver}.${c.slot.kind}.${c.slot.field}`);
  if (missing.length) throw new Error(`alertmanager.routing: credentials missing for ${missing.join(", ")}`);
  return new k8s.core.v1.Secret(
    resourceName,
    {
      metadata: { name: RECEIVER_CREDENTIALS_SECRET, namespace: args.namespace, labels },
      type: "Opaque",
      stringData: Object.fromEntries(credentials.map((c) => [c.slot.key, pulumi.secret(c.value!)])),
    },
    opts,
  );
}

function resources(r: ResourceSpec) {
  return { requests: { cpu: r.cpuRequest, memory: r.memoryRequest }, limits: { cpu: r.cpuLimit, memory: r.memoryLimit } };
}

/** The chart's values: only what differs from its defaults, each for a stated reason. */
export function kubePrometheusStackValues(args: MonitoringStackArgs, grafanaAdminSecret: pulumi.Input<string>): Record<string, unknown> {
  const ha = (replicas: number) => (replicas > 1 ? { podAntiAffinity: "soft" } : {});
  const tolerations = chartTolerations(args.tolerations ?? []);
  return {
    fullnameOverride: KUBE_PROMETHEUS_STACK.release,
    crds: { enabled: true },
    // Managed control planes (EKS, GKE, AKS) do not expose these to scraping.
    kubeEtcd: { enabled: false },
    kubeControllerManager: { enabled: false },
    kubeScheduler: { enabled: false },
    kubeProxy: { enabled: false },
    // Two of the chart's rules exist only for its own default routing, a `null` receiver we do not have:
    // InfoInhibitor (fires whenever an info alert does, to silence it) and Watchdog (always firing; kept
    // when a heartbeat receiver, a dead man's switch, takes it). Without them every alert is one a person
    // can act on.
    defaultRules: { disabled: { InfoInhibitor: true, ...(args.alertmanager.routing?.heartbeat ? {} : { Watchdog: true }) } },
    prometheusOperator: {
      // Rules are checked offline with promtool before deploy; no webhook means no API-server-to-pod
      // flow to open in the network policies and no certificate Jobs.
      admissionWebhooks: { enabled: false },
      tls: { enabled: false },
      ...tolerations.pod,
    },
    ...tolerations.subcharts,
    prometheus: {
      prometheusSpec: {
        replicas: args.prometheus.replicas,
        retention: args.prometheus.retention,
        resources: resources(args.prometheus.resources),
        // Select every ServiceMonitor and rule in the cluster, not only the chart's own.
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        ruleSelectorNilUsesHelmValues: false,
        probeSelectorNilUsesHelmValues: false,
        storageSpec: {
          volumeClaimTemplate: {
            spec: { storageClassName: args.storage.className, accessModes: ["ReadWriteOnce"], resources: { requests: { storage: args.prometheus.storage } } },
          },
        },
        ...ha(args.prometheus.replicas),
        ...tolerations.pod,
      },
    },
    alertmanager: {
      alertmanagerSpec: {
        replicas: args.alertmanager.replicas,
        // Mounted at /etc/alertmanager/secrets/<name>/: the bearer token for the monitor, the receivers' credentials.
        secrets: [ALERT_TOKEN_SECRET, ...(credentialValues(args.alertmanager.routing).length ? [RECEIVER_CREDENTIALS_SECRET] : [])],
        ...ha(args.alertmanager.replicas),
        ...tolerations.pod,
      },
      // Replaces the chart's whole default (lists are replaced, not merged): no `null` receiver is left.
      config: alertmanagerConfig({
        webhookUrl: args.alertmanager.webhookUrl,
        bearerTokenFile: `${ALERTMANAGER_SECRETS_DIR}/${ALERT_TOKEN_SECRET}/token`,
        routing: args.alertmanager.routing,
      }),
    },
    grafana: {
      admin: { existingSecret: grafanaAdminSecret, userKey: "admin-user", passwordKey: "admin-password" },
      defaultDashboardsTimezone: "utc",
      resources: resources(args.grafana.resources),
      sidecar: { dashboards: { enabled: true, label: Object.keys(DASHBOARD_LABEL)[0], labelValue: Object.values(DASHBOARD_LABEL)[0], searchNamespace: args.namespaceName } },
      // The chart's test pod pulls an unpinned image; nothing of ours runs it.
      testFramework: { enabled: false },
      // Its login is Grafana's only protection: no anonymous access, no self sign-up, stated.
      "grafana.ini": {
        "auth.anonymous": { enabled: false },
        users: { allow_sign_up: false },
        ...(args.grafana.publicUrl ? { server: { root_url: args.grafana.publicUrl }, security: { cookie_secure: true } } : {}),
      },
      ...tolerations.pod,
    },
  };
}

/**
 * The chart's values for the foundation's tolerations. Without any, nothing is set (the chart's
 * defaults, the values unchanged). node-exporter already tolerates every NoSchedule taint; it gets
 * only the tolerations that default does not cover (other effects), the default kept, since a list
 * given in the values replaces the chart's.
 */
export function chartTolerations(tolerations: Toleration[]): { pod: { tolerations?: Toleration[] }; subcharts: Record<string, { tolerations: unknown[] }> } {
  if (!tolerations.length) return { pod: {}, subcharts: {} };
  const copy = () => tolerations.map((t) => ({ ...t }));
  const uncovered = tolerations.filter((t) => t.effect !== "NoSchedule");
  // prometheus-node-exporter's own default (its values.yaml): every NoSchedule taint.
  const nodeExporterDefault = [{ effect: "NoSchedule", operator: "Exists" }];
  return {
    pod: { tolerations: copy() },
    subcharts: {
      "kube-state-metrics": { tolerations: copy() },
      ...(uncovered.length ? { "prometheus-node-exporter": { tolerations: [...nodeExporterDefault, ...uncovered.map((t) => ({ ...t }))] } } : {}),
    },
  };
}
