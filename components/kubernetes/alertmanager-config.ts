import { PLATFORM_ALERT_LABEL } from "./alert-rules";

export interface AlertmanagerConfigArgs {
  /** The monitor's receiver, e.g. http://monitor.mlops.svc.cluster.local:8080/v1/alerts. */
  webhookUrl: string;
  /** File holding the bearer token the monitor expects (omit when the receiver needs none, e.g. locally). */
  bearerTokenFile?: string;
  /** Shorter waits for the local platform and tests; the cluster's defaults otherwise. */
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
}

/**
 * Alertmanager's routing: the platform's alerts (label platform="mlops") go to the monitor's
 * `/v1/alerts`, grouped per alert and model; everything else (the chart's cluster alerts) to a null
 * receiver until the operators add theirs. A critical drift alert silences the warning of the same model.
 */
export function alertmanagerConfig(args: AlertmanagerConfigArgs): Record<string, unknown> {
  const [[label, value]] = Object.entries(PLATFORM_ALERT_LABEL);
  return {
    global: { resolve_timeout: "5m" },
    route: {
      receiver: "null",
      group_by: ["alertname", "model"],
      group_wait: args.groupWait ?? "30s",
      group_interval: args.groupInterval ?? "5m",
      repeat_interval: args.repeatInterval ?? "4h",
      routes: [{ receiver: "mlops-monitor", matchers: [`${label}="${value}"`] }],
    },
    receivers: [
      { name: "null" },
      {
        name: "mlops-monitor",
        webhook_configs: [
          {
            url: args.webhookUrl,
            send_resolved: true,
            max_alerts: 0,
            ...(args.bearerTokenFile ? { http_config: { authorization: { type: "Bearer", credentials_file: args.bearerTokenFile } } } : {}),
          },
        ],
      },
    ],
    inhibit_rules: [
      { source_matchers: ['alertname="DataDriftCritical"'], target_matchers: ['alertname="DataDriftDetected"'], equal: ["model"] },
      { source_matchers: ['alertname="ModelServerDown"'], target_matchers: ['alertname=~"InferenceErrorRatioHigh|InferenceLatencyHigh"'], equal: ["model"] },
    ],
    templates: [],
  };
}
