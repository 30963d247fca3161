import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";

export interface ServiceMonitorArgs {
  name: string;
  namespace: pulumi.Input<string>;
  labels: Record<string, string>;
  /** Labels of the Service to scrape. */
  selector: Record<string, string>;
  /** Name of the Service port serving /metrics. */
  port: string;
  /** `mlops_component` on every target: the alert rules select on it. */
  component: "serving" | "drift" | "monitor" | "mlflow" | "api";
  /** `mlops_model` on every target (serving and drift). */
  model?: string;
  /** A `kubernetes.io/basic-auth` Secret in the same namespace, when /metrics needs a login (MLflow). */
  basicAuthSecret?: pulumi.Input<string>;
  interval?: string;
}

/**
 * A prometheus-operator ServiceMonitor. Its CRD comes with kube-prometheus-stack: pass the Helm
 * release in `opts.dependsOn`, or the API server refuses the object.
 */
export function createServiceMonitor(args: ServiceMonitorArgs, opts: pulumi.CustomResourceOptions): k8s.apiextensions.CustomResource {
  const relabelings = [
    { action: "replace", targetLabel: "mlops_component", replacement: args.component },
    ...(args.model ? [{ action: "replace", targetLabel: "mlops_model", replacement: args.model }] : []),
  ];
  const endpoint: Record<string, unknown> = { port: args.port, path: "/metrics", interval: args.interval ?? "30s", scheme: "http", relabelings };
  if (args.basicAuthSecret) {
    endpoint.basicAuth = {
      username: { name: args.basicAuthSecret, key: "username" },
      password: { name: args.basicAuthSecret, key: "password" },
    };
  }
  return new k8s.apiextensions.CustomResource(
    `${args.name}-servicemonitor`,
    {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: { name: args.name, namespace: args.namespace, labels: args.labels },
      spec: { selector: { matchLabels: args.selector }, endpoints: [endpoint] },
    },
    opts,
  );
}
