import { INHIBITS, PLATFORM_ALERT_LABEL, TEAM_LABEL_VALUE } from "./alert-rules";

/**
 * Alertmanager's configuration as a pure function (no Pulumi): the cluster (kube-prometheus-stack's
 * `alertmanager.config`), the local platform and the tests render the same routing.
 *
 * Who is notified:
 *   1. the monitor (`mlops-monitor`, the platform's own webhook receiver) gets every platform alert
 *      (`platform="mlops"`) first, with `continue: true`, so the routes below still match: it acts on the
 *      alerts its ALERT_ACTIONS names (rollback, retrain) and ignores the others;
 *   2. the heartbeat receiver, when configured, gets the chart's always-firing `Watchdog`;
 *   3. the people's routes, in order: each matches a severity, a `team` label and/or raw matchers, and
 *      the first that matches wins (unless it says `continue`);
 *   4. whatever is left goes to the default receiver, a person's; without one (dev) to the monitor.
 * No receiver without an integration exists (the chart's `null` receiver is gone): every alert reaches
 * someone.
 *
 * Credentials (Slack webhook URLs, PagerDuty routing keys, SMTP passwords, webhook bearer tokens) never
 * appear in the configuration: it names files (`*_file` fields) in the Secret RECEIVER_CREDENTIALS_SECRET
 * that Alertmanager mounts under `credentialsDir`. `credentialSlots` lists the files a routing needs.
 */

/** The monitor's receiver name; no configured receiver may take it. */
export const MONITOR_RECEIVER = "mlops-monitor";

/** The severities the platform's and the chart's rules use for people; `none` (chart internals) is not routed by severity. */
export const ALERT_SEVERITIES = ["critical", "warning", "info"] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

/** Where the prometheus-operator mounts the Secrets listed in `alertmanagerSpec.secrets`: `<dir>/<secret>/<key>`. */
export const ALERTMANAGER_SECRETS_DIR = "/etc/alertmanager/secrets";
/** The Secret (namespace of Alertmanager) holding the receivers' credentials, one key per credential. */
export const RECEIVER_CREDENTIALS_SECRET = "alertmanager-receivers";
export const RECEIVER_CREDENTIALS_DIR = `${ALERTMANAGER_SECRETS_DIR}/${RECEIVER_CREDENTIALS_SECRET}`;

/**
 * The receivers a stack configures. `C` is a credential's value: a Pulumi secret in the cluster, a
 * string in tests; absent where the stack has not set it yet (a preview).
 */
export interface AlertReceiver<C = string> {
  /** Lower-case DNS label; also the prefix of its credentials' keys in the Secret. */
  name: string;
  /** An incoming webhook of Slack: the URL is the credential; `channel` overrides the webhook's own. */
  slack?: { channel: string; webhookUrl?: C };
  /** PagerDuty Events API v2: the integration's routing key is the credential. */
  pagerduty?: { routingKey?: C };
  /** E-mail through an SMTP relay (`host:port`); with `authUsername`, `authPassword` is the credential. */
  email?: { to: string; from: string; smarthost: string; authUsername?: string; authPassword?: C; requireTls?: boolean };
  /**
   * A generic webhook (Alertmanager's JSON body, version 4). The URL is configuration (Alertmanager 0.25,
   * which the tests check with, has no `url_file`); a credential goes in `bearerToken`, sent as
   * `Authorization: Bearer`.
   */
  webhook?: { url: string; bearerToken?: C };
}

export interface AlertRoute {
  receiver: string;
  /** Matches `severity="<value>"`. */
  severity?: AlertSeverity;
  /** Matches `team="<value>"` (the platform's alerts carry the stack's team, alert-rules.ts). */
  team?: string;
  /** More Alertmanager matchers, e.g. `namespace="payments"` or `alertname=~"Kube.*"`. */
  matchers?: string[];
  /** Keep matching the routes after this one (default: the first match wins). */
  continue?: boolean;
  repeatInterval?: string;
}

export interface AlertGrouping {
  groupBy?: string[];
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
}

export interface AlertRouting<C = string> {
  receivers: AlertReceiver<C>[];
  /** Gets every alert no route takes (and the root route's). Required in prod (infra/config.ts). */
  defaultReceiver?: string;
  routes?: AlertRoute[];
  grouping?: AlertGrouping;
  /** A dead man's switch: the chart's always-firing `Watchdog` alert, repeated every `repeatInterval` (default 1m). */
  heartbeat?: { receiver: string; repeatInterval?: string };
}

export const DEFAULT_GROUPING: Required<AlertGrouping> = { groupBy: ["alertname", "namespace", "model"], groupWait: "30s", groupInterval: "5m", repeatInterval: "4h" };

export interface AlertmanagerConfigArgs {
  /** The monitor's receiver, e.g. http://monitor.mlops.svc.cluster.local:8081/v1/alerts (its own port). */
  webhookUrl: string;
  /** File holding the bearer token the monitor expects (omit when the receiver needs none, e.g. locally). */
  bearerTokenFile?: string;
  /** The people's receivers and routes; none: every alert goes to the monitor (dev, the local platform). */
  routing?: AlertRouting<unknown>;
  /** Directory of the receivers' credential files (default RECEIVER_CREDENTIALS_DIR, the mounted Secret). */
  credentialsDir?: string;
  /** Shorter waits for the local platform and tests; the routing's grouping (or its defaults) otherwise. */
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
}

/** One credential a routing needs: where its value comes from and the Secret key (file name) it goes to. */
export interface CredentialSlot {
  receiver: string;
  kind: "slack" | "pagerduty" | "email" | "webhook";
  field: "webhookUrl" | "routingKey" | "authPassword" | "bearerToken";
  key: string;
}

/**
 * The credentials a routing needs, by the shape of its receivers: Slack's webhook URL and PagerDuty's
 * routing key always, e-mail's password with a user name, a webhook's token when one is given.
 */
export function credentialSlots(routing: AlertRouting<unknown> | undefined): CredentialSlot[] {
  const slots: CredentialSlot[] = [];
  for (const r of routing?.receivers ?? []) {
    const slot = (kind: CredentialSlot["kind"], field: CredentialSlot["field"], suffix: string) => slots.push({ receiver: r.name, kind, field, key: `${r.name}-${kind}-${suffix}` });
    if (r.slack) slot("slack", "webhookUrl", "webhook-url");
    if (r.pagerduty) slot("pagerduty", "routingKey", "routing-key");
    if (r.email?.authUsername) slot("email", "authPassword", "auth-password");
    if (r.webhook && r.webhook.bearerToken !== undefined) slot("webhook", "bearerToken", "bearer-token");
  }
  return slots;
}

/** Each needed credential with its value (undefined: not set in the stack yet). */
export function credentialValues<C>(routing: AlertRouting<C> | undefined): { slot: CredentialSlot; value: C | undefined }[] {
  return credentialSlots(routing).map((slot) => {
    const receiver = routing!.receivers.find((r) => r.name === slot.receiver)!;
    const section = receiver[slot.kind] as Record<string, unknown>;
    return { slot, value: section[slot.field] as C | undefined };
  });
}

const RECEIVER_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** One Alertmanager matcher: a label, an operator and a double-quoted value. */
const MATCHER = /^\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*$/;
const EMAIL = /^[^\s@<>,]+@[^\s@<>,]+\.[^\s@<>,]+$/;
const SMARTHOST = /^[A-Za-z0-9.-]+:\d{1,5}$/;

/**
 * The ports Alertmanager must reach outside the cluster besides 443 (which every monitoring pod may
 * reach): the SMTP relays of e-mail receivers and the webhooks on a port of their own. Without them
 * the NetworkPolicies would silently drop every e-mail page.
 */
export function receiverEgressPorts(routing: AlertRouting<unknown> | undefined): number[] {
  const ports = new Set<number>();
  for (const r of routing?.receivers ?? []) {
    if (r.email) ports.add(Number(r.email.smarthost.split(":").pop()));
    if (r.webhook) {
      try {
        const url = new URL(r.webhook.url);
        ports.add(Number(url.port || (url.protocol === "http:" ? 80 : 443)));
      } catch {
        // An invalid URL is routingProblems' to report.
      }
    }
  }
  ports.delete(443);
  return [...ports].filter((p) => Number.isInteger(p) && p > 0 && p < 65536).sort((a, b) => a - b);
}

export interface RoutingProblem {
  path: (string | number)[];
  message: string;
}

/** What Alertmanager would refuse, or what would leave an alert without a person, named by path. */
export function routingProblems(routing: AlertRouting<unknown>): RoutingProblem[] {
  const problems: RoutingProblem[] = [];
  const add = (path: (string | number)[], message: string) => problems.push({ path, message });
  const names = new Set<string>();
  routing.receivers.forEach((r, i) => {
    if (!RECEIVER_NAME.test(r.name) || r.name.length > 40) add(["receivers", i, "name"], `"${r.name}" is not a receiver name (a lower-case DNS label of at most 40 characters)`);
    if (r.name === MONITOR_RECEIVER || r.name === "null") add(["receivers", i, "name"], `"${r.name}" is reserved (${r.name === "null" ? "no receiver may drop alerts" : "the monitor's receiver"})`);
    if (names.has(r.name)) add(["receivers", i, "name"], `"${r.name}" is listed twice`);
    names.add(r.name);
    if (!r.slack && !r.pagerduty && !r.email && !r.webhook) add(["receivers", i], "a receiver needs at least one of slack, pagerduty, email, webhook (a receiver without one drops alerts)");
    if (r.slack && !/^[#@]?[A-Za-z0-9._-]{1,80}$/.test(r.slack.channel)) add(["receivers", i, "slack", "channel"], `"${r.slack.channel}" is not a Slack channel such as #ml-alerts`);
    if (r.email) {
      for (const field of ["to", "from"] as const) {
        const list = field === "to" ? r.email.to.split(",").map((x) => x.trim()) : [r.email.from];
        if (!list.every((a) => EMAIL.test(a))) add(["receivers", i, "email", field], `"${r.email[field]}" is not an e-mail address${field === "to" ? " (or a comma-separated list)" : ""}`);
      }
      if (!SMARTHOST.test(r.email.smarthost)) add(["receivers", i, "email", "smarthost"], `"${r.email.smarthost}" is not host:port, e.g. smtp.example.com:587`);
      if (r.email.authPassword !== undefined && !r.email.authUsername) add(["receivers", i, "email", "authUsername"], "authPassword needs authUsername (SMTP AUTH)");
    }
    if (r.webhook && !/^https?:\/\/[^\s/?#]+[^\s]*$/.test(r.webhook.url)) add(["receivers", i, "webhook", "url"], `"${r.webhook.url}" is not an http(s) URL`);
  });
  const known = (name: string, path: (string | number)[]) => {
    if (!names.has(name)) add(path, `"${name}" is not a configured receiver (receivers: ${[...names].join(", ") || "none"})`);
  };
  if (routing.defaultReceiver !== undefined) known(routing.defaultReceiver, ["defaultReceiver"]);
  if (routing.heartbeat) {
    known(routing.heartbeat.receiver, ["heartbeat", "receiver"]);
    if (routing.heartbeat.repeatInterval !== undefined && !DURATION.test(routing.heartbeat.repeatInterval)) add(["heartbeat", "repeatInterval"], `"${routing.heartbeat.repeatInterval}" is not a duration`);
  }
  (routing.routes ?? []).forEach((route, i) => {
    known(route.receiver, ["routes", i, "receiver"]);
    if (!route.severity && !route.team && !route.matchers?.length) add(["routes", i], "a route without severity, team or matchers takes every alert: make its receiver the defaultReceiver instead");
    if (route.severity && !(ALERT_SEVERITIES as readonly string[]).includes(route.severity)) add(["routes", i, "severity"], `expected one of ${ALERT_SEVERITIES.join(", ")}`);
    if (route.team !== undefined && !TEAM_LABEL_VALUE.test(route.team)) add(["routes", i, "team"], `"${route.team}" is not a team label value (letters, digits, spaces, . _ -)`);
    (route.matchers ?? []).forEach((m, j) => {
      if (!MATCHER.test(m)) add(["routes", i, "matchers", j], `${JSON.stringify(m)} is not an Alertmanager matcher such as namespace="payments" or alertname=~"Kube.*"`);
    });
    if (route.repeatInterval !== undefined && !DURATION.test(route.repeatInterval)) add(["routes", i, "repeatInterval"], `"${route.repeatInterval}" is not a duration`);
  });
  const g = routing.grouping ?? {};
  for (const key of ["groupWait", "groupInterval", "repeatInterval"] as const) {
    if (g[key] !== undefined && !DURATION.test(g[key]!)) add(["grouping", key], `"${g[key]}" is not a duration such as 30s, 5m or 4h`);
  }
  (g.groupBy ?? []).forEach((label, i) => {
    if (label !== "..." && !LABEL_NAME.test(label)) add(["grouping", "groupBy", i], `"${label}" is not a label name`);
  });
  return problems;
}

const SLACK_TITLE =
  '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }}{{ with .CommonLabels.model }} ({{ . }}){{ end }}';
/** Each alert's summary, description and runbook: the link a person needs first. */
const SLACK_TEXT = [
  "{{ range .Alerts }}*{{ .Annotations.summary }}*{{ with .Labels.severity }} ({{ . }}){{ end }}",
  "{{ .Annotations.description }}",
  "{{ with .Annotations.runbook_url }}Runbook: {{ . }}{{ end }}",
  "{{ end }}",
].join("\n");

const quote = (value: string) => JSON.stringify(value);

/**
 * Alertmanager's configuration: the monitor's receiver and route as before, the people's receivers and
 * routes of `routing`, grouping, and inhibition (a critical alert silences the warning and info alerts of
 * the same alert, namespace and model; the pairs of INHIBITS).
 */
export function alertmanagerConfig(args: AlertmanagerConfigArgs): Record<string, unknown> {
  const routing = args.routing;
  if (routing) {
    const problems = routingProblems(routing);
    if (problems.length) throw new Error(`invalid alert routing:\n  ${problems.map((p) => `${p.path.join(".")}: ${p.message}`).join("\n  ")}`);
  }
  const [[label, value]] = Object.entries(PLATFORM_ALERT_LABEL);
  const grouping = { ...DEFAULT_GROUPING, ...(routing?.grouping ?? {}) };
  const dir = (args.credentialsDir ?? RECEIVER_CREDENTIALS_DIR).replace(/\/+$/, "");
  const file = (receiver: string, kind: CredentialSlot["kind"]) => `${dir}/${credentialSlots(routing).find((s) => s.receiver === receiver && s.kind === kind)!.key}`;
  const defaultReceiver = routing?.defaultReceiver ?? MONITOR_RECEIVER;

  const monitorRoute = {
    receiver: MONITOR_RECEIVER,
    matchers: [`${label}=${quote(value)}`],
    group_by: ["alertname", "model"],
    // The people's routes below still see the alert.
    continue: true,
  };
  const heartbeat = routing?.heartbeat
    ? [
        {
          receiver: routing.heartbeat.receiver,
          matchers: ['alertname="Watchdog"'],
          group_wait: "0s",
          group_interval: routing.heartbeat.repeatInterval ?? "1m",
          repeat_interval: routing.heartbeat.repeatInterval ?? "1m",
        },
      ]
    : [];
  const people = (routing?.routes ?? []).map((r) => ({
    receiver: r.receiver,
    matchers: [...(r.severity ? [`severity=${quote(r.severity)}`] : []), ...(r.team ? [`team=${quote(r.team)}`] : []), ...(r.matchers ?? []).map((m) => m.trim())],
    ...(r.continue ? { continue: true } : {}),
    ...(r.repeatInterval ? { repeat_interval: r.repeatInterval } : {}),
  }));
  // A match of the monitor's route (continue) keeps the root's receiver from matching: the default must
  // be a route of its own, last, for the platform's alerts no person's route took.
  const fallback = routing?.defaultReceiver ? [{ receiver: routing.defaultReceiver }] : [];

  return {
    global: { resolve_timeout: "5m" },
    route: {
      receiver: defaultReceiver,
      group_by: grouping.groupBy,
      group_wait: args.groupWait ?? grouping.groupWait,
      group_interval: args.groupInterval ?? grouping.groupInterval,
      repeat_interval: args.repeatInterval ?? grouping.repeatInterval,
      routes: [...heartbeat, monitorRoute, ...people, ...fallback],
    },
    receivers: [
      {
        name: MONITOR_RECEIVER,
        webhook_configs: [
          {
            url: args.webhookUrl,
            send_resolved: true,
            max_alerts: 0,
            ...(args.bearerTokenFile ? { http_config: { authorization: { type: "Bearer", credentials_file: args.bearerTokenFile } } } : {}),
          },
        ],
      },
      ...(routing?.receivers ?? []).map((r) => ({
        name: r.name,
        ...(r.slack
          ? { slack_configs: [{ api_url_file: file(r.name, "slack"), channel: r.slack.channel, send_resolved: true, title: SLACK_TITLE, text: SLACK_TEXT }] }
          : {}),
        ...(r.pagerduty
          ? {
              pagerduty_configs: [
                {
                  routing_key_file: file(r.name, "pagerduty"),
                  send_resolved: true,
                  // Merged with Alertmanager's default details (firing, resolved, num_firing, num_resolved).
                  details: { runbook_url: "{{ .CommonAnnotations.runbook_url }}", summary: "{{ .CommonAnnotations.summary }}", model: "{{ .CommonLabels.model }}" },
                },
              ],
            }
          : {}),
        ...(r.email
          ? {
              email_configs: [
                {
                  to: r.email.to,
                  from: r.email.from,
                  smarthost: r.email.smarthost,
                  ...(r.email.authUsername ? { auth_username: r.email.authUsername, auth_password_file: file(r.name, "email") } : {}),
                  require_tls: r.email.requireTls ?? true,
                  send_resolved: true,
                },
              ],
            }
          : {}),
        ...(r.webhook
          ? {
              webhook_configs: [
                {
                  url: r.webhook.url,
                  send_resolved: true,
                  max_alerts: 0,
                  ...(r.webhook.bearerToken !== undefined ? { http_config: { authorization: { type: "Bearer", credentials_file: file(r.name, "webhook") } } } : {}),
                },
              ],
            }
          : {}),
      })),
    ],
    inhibit_rules: inhibitRules(),
    templates: [],
  };
}

/**
 * A critical alert silences the warning and info alerts of the same alert, namespace and model (the
 * chart's convention, and ours: labels absent on both sides are equal); a warning its info alerts; and
 * the pairs of INHIBITS, per model.
 */
export function inhibitRules(): Record<string, unknown>[] {
  const same = ["alertname", "namespace", "model"];
  return [
    { source_matchers: ['severity="critical"'], target_matchers: ['severity=~"warning|info"'], equal: same },
    { source_matchers: ['severity="warning"'], target_matchers: ['severity="info"'], equal: same },
    ...Object.entries(INHIBITS).map(([source, targets]) => ({
      source_matchers: [`alertname=${quote(source)}`],
      target_matchers: [targets!.length === 1 ? `alertname=${quote(targets![0])}` : `alertname=~${quote(targets!.join("|"))}`],
      equal: ["model"],
    })),
  ];
}
