/** Ports and names of PRODUCT.md ("Ports, names, namespaces"); every component and test takes them from here. */
export const PORTS = {
  api: 8080,
  /** The monitor's Alertmanager receiver (POST /v1/alerts): a listener of its own, reachable only from Alertmanager. */
  alerts: 8081,
  metrics: 9090,
  mlflow: 5000,
  postgres: 5432,
  https: 443,
  dns: 53,
  grafana: 3000,
} as const;

/** The numeric users of our images (USER in each Dockerfile): numeric, so the kubelet can verify runAsNonRoot. */
export const UIDS = {
  /** The `node` user of the node:20 images. */
  node: 1000,
  /** The user services/mlflow/Dockerfile adds to the MLflow image. */
  mlflow: 10001,
} as const;

/**
 * The platform's namespaces (PRODUCT.md "Ports, names, namespaces"), one definition: the workloads
 * run in `platform`, the Prometheus stack in `monitoring`, and each cloud's workload identity trusts
 * MLflow's service account in `platform` (infra/clouds/target.ts).
 */
export const NAMESPACES = { platform: "mlops", monitoring: "monitoring" } as const;

/**
 * Namespaces labelled with this (value "true") may reach the entry points: the platform API (the front
 * door for people and applications), serving (clients that call the inference protocols directly, with
 * their API keys), MLflow (data scientists and CI register models) and Grafana. No other service of the
 * platform is reachable from outside its namespace.
 */
export const CLIENT_NAMESPACE_LABEL = "mlops-platform/client";

/** In-cluster DNS names of services. */
export function serviceUrl(name: string, namespace: string, port: number): string {
  return `http://${name}.${namespace}.svc.cluster.local:${port}`;
}

export const servingName = (model: string) => `serving-${model}`;
export const driftName = (model: string) => `drift-${model}`;
export const MLFLOW_NAME = "mlflow";
export const MONITOR_NAME = "monitor";
/** The platform API (services/api): Deployment, Service and DNS name. */
export const API_NAME = "platform-api";

/**
 * The operations add-ons' namespaces and service accounts (issue 14): Velero (backups) on every cloud,
 * the log shipper where the cloud has no built-in agent (Fluent Bit on EKS). Each cloud's workload
 * identity trusts exactly these service accounts.
 */
export const VELERO_SERVICE_ACCOUNT = { namespace: "velero", name: "velero" } as const;
export const LOG_SHIPPER_SERVICE_ACCOUNT = { namespace: "logging", name: "fluent-bit" } as const;
