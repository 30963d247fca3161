import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { MODEL_ALERT_NAMES, TEAM_LABEL_VALUE, type AlertRuleParams } from "../components/kubernetes/alert-rules";
import { ALERT_SEVERITIES, credentialSlots, routingProblems, type CredentialSlot } from "../components/kubernetes/alertmanager-config";
import { MODEL_URI_EXPECTED, isRegistryScheme, parseModelUri } from "../components/kubernetes/model-uri";
import type { ResourceSpec } from "../components/kubernetes/pod";
import type { ModelQuality } from "../components/kubernetes/services";
import { CLOUD_SETTINGS, SUPPORTED_CLOUDS, type CloudConfig } from "./clouds/settings";
import { DIGEST_PLACEHOLDER, IMAGE_NAMES } from "./images";
import { ingressIssues, ingressSchema } from "./ingress-config";

export { SUPPORTED_CLOUDS } from "./clouds/settings";
export { DIGEST_PLACEHOLDER, IMAGE_NAMES } from "./images";
export { isCidr } from "./config-fields";

/**
 * The stack's `mlops:` configuration: parsed and validated once, before any resource is declared.
 * Every key is a top-level `mlops:<key>`; structured keys are YAML objects in `Pulumi.<stack>.yaml`.
 */
export const NAMESPACE = "mlops";

const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "expected a lower-case DNS label (a-z, 0-9, '-')").max(40);
const quantity = z.string().regex(/^\d+(\.\d+)?(m|Mi|Gi|Ki)?$/, "expected a Kubernetes quantity such as 250m, 512Mi or 1");

const httpsUrl = z.string().regex(/^https:\/\/[^\s/?#]+[^\s]*$/, "expected an https:// URL");

/**
 * A model's requests and limits: the one resource type (ResourceSpec), every field optional. What a
 * stack leaves out is the environment profile's `serving` value (infra/workloads.ts), never a default
 * of this schema, so a partial override in prod keeps prod's other values.
 */
const resources = z
  .object({
    cpuRequest: quantity.optional(),
    memoryRequest: quantity.optional(),
    cpuLimit: quantity.optional(),
    memoryLimit: quantity.optional(),
  } satisfies Record<keyof ResourceSpec, z.ZodType>)
  .strict();

/** One grammar of registry URIs (components/kubernetes/model-uri.ts). */
const modelUri = z.string().refine((uri) => parseModelUri(uri) !== undefined, { message: `expected ${MODEL_URI_EXPECTED}` });

const driftSettings = z
  .object({
    enabled: z.boolean().default(true),
    /** `models:/<name>@<alias>` or a file path of the reference profile; default: the profile logged with the champion. */
    referenceUri: z
      .string()
      .min(1)
      .refine((uri) => !isRegistryScheme(uri) || parseModelUri(uri) !== undefined, { message: `expected ${MODEL_URI_EXPECTED}, or a file path` })
      .optional(),
    evaluationIntervalSeconds: z.number().int().min(10).default(60),
    windowRows: z.number().int().min(1000).default(10000),
    datasetDriftShare: z.number().min(0).max(1).default(0.5),
    /** Per-feature method overrides, e.g. { amount: "psi" }. */
    methods: z.record(z.string(), z.enum(["ks", "wasserstein", "psi", "jensenshannon", "hellinger", "chisquare"])).default({}),
    /** Receives an HMAC-signed JSON body when the drift verdict changes. */
    webhookUrl: httpsUrl.optional(),
  })
  .strict();

/**
 * How the monitor reads the model's prediction events (its MODELS_CONFIG, services/monitor/src/config/models.ts):
 * the same fields and rules. Unset: the monitor's defaults (a binary classifier with outputs `label`
 * and `probability`, class 1 positive), so only what a stack sets is passed on.
 */
const qualitySettings = z
  .object({
    task: z.enum(["classification", "regression"]).optional(),
    predictionOutput: z.string().min(1).optional(),
    /** null: a classifier without a score output (no ROC AUC). */
    scoreOutput: z.string().min(1).nullable().optional(),
    /** The positive class's element when the score output is an array of class probabilities. */
    scoreIndex: z.number().int().min(0).optional(),
    positiveClass: z.union([z.string().min(1), z.number().finite(), z.boolean()]).optional(),
  } satisfies Record<keyof ModelQuality, z.ZodType>)
  .strict()
  .refine((q) => q.task !== "regression" || (!q.scoreOutput && q.scoreIndex === undefined && q.positiveClass === undefined), {
    message: "a regression model has no scoreOutput, scoreIndex or positiveClass",
  });

export const modelSchema = z
  .object({
    name: dnsLabel,
    uri: modelUri,
    challenger: z
      .object({
        uri: modelUri,
        /** Share of live traffic (percent) the challenger answers; ignored in shadow mode. */
        weight: z.number().min(0).max(100).default(0),
        shadow: z.boolean().default(false),
      })
      .strict()
      .optional(),
    replicas: z.object({ min: z.number().int().min(1), max: z.number().int().min(1) }).strict().optional(),
    resources: resources.optional(),
    quality: qualitySettings.optional(),
    /** Accuracy below which ModelQualityLow fires for this model. */
    accuracyThreshold: z.number().min(0).max(1).default(0.85),
    /** Share of requests whose prediction events serving sends to drift and the monitor. */
    eventSampleRate: z.number().gt(0).max(1).default(1),
    drift: driftSettings.default(driftSettings.parse({})),
    /** What the monitor does when Alertmanager delivers one of these alerts for this model (the platform API's alerts are about no model). */
    alertActions: z
      .array(z.object({ alert: z.enum(MODEL_ALERT_NAMES), action: z.enum(["rollback", "retrain"]) }).strict())
      .default([])
      .refine((a) => new Set(a.map((x) => x.alert)).size === a.length, { message: "one action per alert" }),
    /** Called (HMAC-signed) by the `retrain` action. */
    retrainWebhookUrl: httpsUrl.optional(),
  })
  .strict()
  .refine((m) => (parseModelUri(m.uri)?.name ?? m.name) === m.name, {
    message: "the URI must name the model it serves (models:/<name>@<alias> with <name> = name), as MODEL_NAME and the policy pack require",
    path: ["uri"],
  })
  .refine((m) => !m.replicas || m.replicas.min <= m.replicas.max, { message: "replicas.min must not exceed replicas.max", path: ["replicas"] })
  .refine((m) => !m.alertActions.some((a) => a.action === "retrain") || Boolean(m.retrainWebhookUrl), {
    message: "a retrain action needs retrainWebhookUrl",
    path: ["retrainWebhookUrl"],
  });

/**
 * A receiver's credential (Slack webhook URL, PagerDuty routing key, SMTP password, webhook token): only
 * ever a Pulumi secret, set with `pulumi config set --secret --path 'mlops:alerting.receivers[<i>]...'`
 * (loadConfig refuses one in plain text). A preview without it shows a placeholder; `pulumi up` refuses it.
 */
const credential = z.string().min(1);
/** The fields that hold credentials: their values never appear in an error message. */
const CREDENTIAL_FIELDS = new Set<string>(["webhookUrl", "routingKey", "authPassword", "bearerToken"] satisfies CredentialSlot["field"][]);

/**
 * Who gets paged (components/kubernetes/README.md "Alerting"): receivers, routes per severity and `team`
 * label, grouping, and the runbook links of the platform's alerts. The checks are Alertmanager's own
 * (routingProblems, components/kubernetes/alertmanager-config.ts). Unset in dev: every alert goes to the
 * monitor. Prod requires it, with a defaultReceiver (parseConfig).
 */
const alertingSchema = z
  .object({
    /** Gets every alert no route takes: a person's receiver. */
    defaultReceiver: z.string().optional(),
    receivers: z
      .array(
        z
          .object({
            name: z.string(),
            slack: z.object({ channel: z.string(), webhookUrl: credential.optional() }).strict().optional(),
            pagerduty: z.object({ routingKey: credential.optional() }).strict().optional(),
            email: z
              .object({
                to: z.string(),
                from: z.string(),
                /** host:port of the SMTP relay. */
                smarthost: z.string(),
                authUsername: z.string().min(1).optional(),
                authPassword: credential.optional(),
                requireTls: z.boolean().optional(),
              })
              .strict()
              .optional(),
            /** The URL is configuration; a credential goes in bearerToken (Authorization: Bearer). */
            webhook: z.object({ url: z.string(), bearerToken: credential.optional() }).strict().optional(),
          })
          .strict(),
      )
      .default([]),
    /** In order, the first match wins (unless `continue`); after them, defaultReceiver. */
    routes: z
      .array(
        z
          .object({
            receiver: z.string(),
            severity: z.enum(ALERT_SEVERITIES).optional(),
            team: z.string().optional(),
            matchers: z.array(z.string()).optional(),
            continue: z.boolean().optional(),
            repeatInterval: z.string().optional(),
          })
          .strict(),
      )
      .default([]),
    /** Default: group by alertname, namespace and model; wait 30s, then 5m between updates, repeat every 4h. */
    grouping: z
      .object({ groupBy: z.array(z.string()).min(1).optional(), groupWait: z.string().optional(), groupInterval: z.string().optional(), repeatInterval: z.string().optional() })
      .strict()
      .optional(),
    /** A dead man's switch receiving the chart's always-firing Watchdog alert; without one, Watchdog is off. */
    heartbeat: z.object({ receiver: z.string(), repeatInterval: z.string().optional() }).strict().optional(),
    /** The `team` label of the platform's alerts (default: the `team` tag). */
    team: z.string().regex(TEAM_LABEL_VALUE, "expected a team label value (letters, digits, spaces, . _ -)").optional(),
    /** Base of every alert's runbook_url, e.g. https://github.com/<org>/<repo>/blob/main/docs/runbooks (default: docs/runbooks). */
    runbookBaseUrl: z
      .string()
      .regex(/^(https:\/\/[^\s{}"]+|[^\s{}":]+)$/, "expected an https:// URL or a repository path such as docs/runbooks")
      .optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    for (const problem of routingProblems(a)) ctx.addIssue({ code: "custom", path: problem.path, message: problem.message });
  });

/** A version or commit SHA: `latest` moves, so it pins nothing. */
const imageTag = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, "expected an image tag")
  .refine((t) => t !== "latest", { message: '"latest" is not a pin; use a version or a commit SHA' });

const imageRef = z
  .object({
    /** Overrides the tag for this image. */
    tag: imageTag.optional(),
    /**
     * sha256:<64 hex>; when set, the image is pulled by digest. `pinned-by-ci` marks a stack file whose
     * digests only CI knows (it built the images): previews accept it, a real `pulumi up` refuses it.
     */
    digest: z.union([z.string().regex(/^sha256:[a-f0-9]{64}$/, "expected sha256:<64 hex digits>"), z.literal(DIGEST_PLACEHOLDER)]).optional(),
  })
  .strict();

/** The keys that mean the same on every cloud; `network`, `cluster` and `database` belong to the cloud. */
export const configSchema = z
  .object({
    environment: z.enum(["dev", "prod"]),
    cloud: z.enum(SUPPORTED_CLOUDS),
    /** Tags for every taggable cloud resource; `team` and `cost-center` are required (PRODUCT.md). */
    tags: z
      .record(z.string(), z.string())
      .refine((t) => Boolean(t.team) && Boolean(t["cost-center"]), { message: "must include the tags team and cost-center" }),
    /** The cloud's own keys (infra/clouds/<cloud>/settings.ts): validated once the cloud is known. */
    network: z.unknown().optional(),
    cluster: z.unknown().optional(),
    database: z.unknown().optional(),
    artifactStore: z
      .object({
        /** Key prefix inside the bucket where MLflow keeps artifacts. */
        prefix: z.string().regex(/^[a-z0-9][a-z0-9/_-]*[a-z0-9]$/, "expected a key prefix such as mlflow").default("mlflow"),
      })
      .strict()
      .default({ prefix: "mlflow" }),
    images: z
      .object({
        /**
         * Registry and path prefix: images are <registry>/<serving|drift|monitor|api|mlflow>. Default: the
         * registry the foundation creates (ECR, Artifact Registry, ACR; localhost/mlops on a local cluster).
         */
        registry: z
          .string()
          .regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d+)?(\/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$/, "expected a registry host with an optional path, without scheme or tag")
          .optional(),
        tag: imageTag,
        serving: imageRef.default({}),
        drift: imageRef.default({}),
        monitor: imageRef.default({}),
        /** The platform API (services/api). */
        api: imageRef.default({}),
        mlflow: imageRef.default({}),
      })
      .strict(),
    models: z
      .array(modelSchema)
      .default([])
      .refine((models) => new Set(models.map((m) => m.name)).size === models.length, { message: "model names must be unique" }),
    /**
     * The inference API's clients: Pulumi generates one API key each (stack output `servingApiKeys`,
     * a secret) and mounts them into every serving pod. At least one, so inference is always
     * authenticated; `ratePerMinute` overrides serving's default rate for that key.
     */
    servingClients: z
      .array(z.object({ name: dnsLabel, ratePerMinute: z.number().int().positive().optional() }).strict())
      .min(1, "list at least one client: inference is always authenticated")
      .default([{ name: "default" }])
      .refine((clients) => new Set(clients.map((c) => c.name)).size === clients.length, { message: "client names must be unique" }),
    monitoring: z
      .object({
        /** Alert thresholds; environment defaults from PRODUCT.md apply where unset. */
        errorRatio: z.number().gt(0).lt(1).optional(),
        latencyP95Seconds: z.number().positive().optional(),
        /** p95 of predictions through the platform API (PlatformApiLatencyHigh), seconds. */
        apiLatencyP95Seconds: z.number().positive().optional(),
        driftShareWarning: z.number().gt(0).lt(1).optional(),
        driftShareCritical: z.number().gt(0).lt(1).optional(),
        /** The monitor's window ModelQualityLow watches, and the labelled predictions it needs first. */
        qualityWindow: z.enum(["1h", "24h", "7d"]).optional(),
        qualityMinLabels: z.number().int().min(1).optional(),
        /** Prometheus retention, e.g. 15d (default 7d in dev, 30d in prod). */
        prometheusRetention: z.string().regex(/^\d+[hdwy]$/, "expected a Prometheus retention such as 15d").optional(),
      })
      .strict()
      .refine((m) => m.driftShareWarning === undefined || m.driftShareCritical === undefined || m.driftShareWarning <= m.driftShareCritical, {
        message: "driftShareWarning must not exceed driftShareCritical",
        path: ["driftShareWarning"],
      })
      .default({}),
    alerting: alertingSchema.optional(),
    /** The public entry point: hosts per endpoint, TLS issuer, DNS zone (infra/ingress-config.ts); unset: nothing exposed. */
    ingress: ingressSchema.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    for (const issue of ingressIssues(c)) ctx.addIssue({ code: "custom", ...issue });
    if (!c.alerting?.team && !TEAM_LABEL_VALUE.test(c.tags.team ?? "")) {
      ctx.addIssue({ code: "custom", path: ["alerting", "team"], message: `the platform's alerts carry the team tag ("${c.tags.team}") as their team label, which it cannot be: set alerting.team` });
    }
    if (c.environment === "prod") {
      c.models.forEach((m, i) => {
        if (m.challenger && !m.challenger.shadow && m.challenger.weight > 10) {
          ctx.addIssue({ code: "custom", path: ["models", i, "challenger", "weight"], message: "a challenger may take at most 10% of traffic in prod" });
        }
      });
    }
  });

/** The neutral keys, and the chosen cloud's `network`, `cluster` and `database` (discriminated by `cloud`). */
export type PlatformConfig = Omit<z.infer<typeof configSchema>, "cloud" | "network" | "cluster" | "database"> & CloudConfig;
export type ModelConfig = z.infer<typeof modelSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid stack configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

/** The raw `mlops:` values: structured ones are JSON in the engine's config map. */
export function readRawConfig(config: pulumi.Config = new pulumi.Config(NAMESPACE)): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(configSchema.shape)) {
    const value = config.get(key);
    if (value === undefined) continue;
    raw[key] = parseMaybeJson(value);
  }
  return raw;
}

/** Validates raw values; every problem names the key, the value given and what is allowed. */
export function parseConfig(raw: Record<string, unknown>): PlatformConfig {
  const neutral = configSchema.safeParse(raw);
  const problems = neutral.success ? [] : neutral.error.issues.map((issue) => describeIssue(issue, raw));
  // The cloud's keys are checked as soon as the cloud is known, so one run names every problem.
  const cloud = SUPPORTED_CLOUDS.find((c) => c === raw.cloud);
  if (!cloud) return fail(problems);
  const target = CLOUD_SETTINGS[cloud] as { schema: z.ZodType<Record<string, unknown>>; issues: (env: unknown, s: any) => { path: (string | number)[]; message: string }[] };
  const settings = target.schema.safeParse({ network: raw.network ?? {}, cluster: raw.cluster ?? {}, database: raw.database ?? {} });
  if (!settings.success) problems.push(...settings.error.issues.map((issue) => describeIssue(issue, raw)));
  else problems.push(...target.issues(raw.environment, settings.data).map((issue) => describeIssue({ code: "custom", input: undefined, ...issue } as z.core.$ZodIssue, raw)));
  if (problems.length || !neutral.success || !settings.success) return fail(problems);
  const config = { ...neutral.data, ...settings.data, cloud } as PlatformConfig;
  // Checked once the rest holds (a config with other problems names those first).
  const unrouted = alertingProblems(config);
  if (unrouted.length) return fail(unrouted);
  return config;
}

/**
 * Prod pages people (PRODUCT.md "Environments": every alert of a prod stack reaches someone): an
 * `alerting` block with a default receiver is required. Dev may leave it out (every alert goes to the monitor).
 */
export function alertingProblems(config: PlatformConfig): string[] {
  if (config.environment !== "prod" || config.alerting?.defaultReceiver) return [];
  const what = config.alerting ? `${NAMESPACE}:alerting.defaultReceiver: missing (required)` : `${NAMESPACE}:alerting: missing (required)`;
  return [`${what}; in prod every alert must reach a person: configure a receiver (slack, pagerduty, email or webhook) and name it defaultReceiver (components/kubernetes/README.md, "Alerting")`];
}

/** The `pulumi config set` path of a credential, e.g. mlops:alerting.receivers[1].slack.webhookUrl. */
function credentialPath(config: PlatformConfig, slot: CredentialSlot): string {
  const index = config.alerting!.receivers.findIndex((r) => r.name === slot.receiver);
  return `${NAMESPACE}:alerting.receivers[${index}].${slot.kind}.${slot.field}`;
}

/**
 * Receivers' credentials come only from Pulumi secrets: a credential written in plain text in the stack
 * file (the `alerting` key not a secret) is refused, and a real deployment refuses a missing one (a
 * preview shows a placeholder, as it does for image digests), each with the command that sets it.
 */
export function credentialProblems(config: PlatformConfig, opts: { deploying: boolean; alertingIsSecret: boolean }): string[] {
  const problems: string[] = [];
  for (const slot of credentialSlots(config.alerting)) {
    const receiver = config.alerting!.receivers.find((r) => r.name === slot.receiver)!;
    const value = (receiver[slot.kind] as Record<string, unknown>)[slot.field];
    const path = credentialPath(config, slot);
    const set = `pulumi config set --secret --path '${path}' <value>`;
    if (value !== undefined && !opts.alertingIsSecret) problems.push(`${path}: a credential in plain text; remove it from the stack file and set it as a Pulumi secret: ${set}`);
    else if (value === undefined && opts.deploying) problems.push(`${path}: missing; a real deployment needs the ${slot.kind} receiver "${slot.receiver}"'s credential: ${set}`);
  }
  return problems;
}

/** What the platform's alert rules take from the stack: their team label and the runbooks' base URL. */
export function alertRuleSettings(config: PlatformConfig): Pick<AlertRuleParams, "team" | "runbookBaseUrl"> {
  return { team: config.alerting?.team ?? config.tags.team, ...(config.alerting?.runbookBaseUrl ? { runbookBaseUrl: config.alerting.runbookBaseUrl } : {}) };
}

/**
 * A real deployment must not pull an image nobody built: a placeholder digest is refused outside a
 * preview, with the command that pins the real ones.
 */
export function refusePlaceholderDigests(config: PlatformConfig, deploying: boolean): void {
  if (!deploying) return;
  const placeholders = IMAGE_NAMES.filter((image) => config.images[image].digest === DIGEST_PLACEHOLDER);
  if (!placeholders.length) return;
  fail(
    placeholders.map(
      (image) =>
        `${NAMESPACE}:images.${image}.digest: got "${DIGEST_PLACEHOLDER}"; a real deployment needs the digest of an image that exists. ` +
        `The deploy workflow pins them (bash scripts/ci/pin-images.sh <org>/<stack> <commit-sha> --digests); by hand: pulumi config set --path '${NAMESPACE}:images.${image}.digest' sha256:<digest>`,
    ),
  );
}

export function loadConfig(): PlatformConfig {
  const all = pulumi.runtime.allConfig();
  const known = new Set(Object.keys(configSchema.shape));
  const stray = Object.keys(all)
    .filter((k) => k.startsWith(`${NAMESPACE}:`))
    .map((k) => k.slice(NAMESPACE.length + 1))
    .filter((k) => !known.has(k));
  const raw = readRawConfig();
  const problems = stray.map((k) => `${NAMESPACE}:${k}: unknown key; known keys: ${[...known].map((x) => `${NAMESPACE}:${x}`).join(", ")}`);
  try {
    const parsed = parseConfig(raw);
    if (problems.length) fail(problems);
    refusePlaceholderDigests(parsed, !pulumi.runtime.isDryRun());
    const credentials = credentialProblems(parsed, { deploying: !pulumi.runtime.isDryRun(), alertingIsSecret: isConfigSecret(`${NAMESPACE}:alerting`) });
    if (credentials.length) fail(credentials);
    return parsed;
  } catch (err) {
    if (err instanceof ConfigError) fail([...problems, ...err.problems]);
    throw err;
  }
}

/** Whether the engine handed this key over as a secret (a `secure:` value, or one nested in it). */
function isConfigSecret(key: string): boolean {
  const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (k: string) => boolean };
  return runtimeConfig.isConfigSecret?.(key) ?? false;
}

function fail(problems: string[]): never {
  throw new ConfigError(problems);
}

function describeIssue(issue: z.core.$ZodIssue, raw: Record<string, unknown>): string {
  const [top, ...rest] = issue.path.map(String);
  const key = `${NAMESPACE}:${top ?? ""}${rest.length ? `.${rest.join(".")}` : ""}`;
  const value = top === "alerting" ? redactCredentials(valueAt(raw, issue.path), CREDENTIAL_FIELDS.has(String(issue.path.at(-1)))) : valueAt(raw, issue.path);
  const shown = value === undefined ? "missing (required)" : `got ${JSON.stringify(value)}`;
  let allowed = issue.message;
  if (issue.code === "invalid_value" && "values" in issue) allowed = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
  if (issue.code === "invalid_type" && value === undefined) allowed = `required (${issue.expected})`;
  if (issue.code === "unrecognized_keys") return `${key}: unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
  return `${key}: ${shown}; ${allowed}`;
}

/** A value with every credential in it replaced, so an error message never shows one. */
function redactCredentials(value: unknown, isCredential = false): unknown {
  if (value === undefined) return undefined;
  if (isCredential) return "[secret]";
  if (Array.isArray(value)) return value.map((v) => redactCredentials(v));
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactCredentials(v, CREDENTIAL_FIELDS.has(k))]));
}

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let cur: unknown = raw;
  for (const p of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

function parseMaybeJson(value: string): unknown {
  const trimmed = value.trim();
  if (/^[[{]/.test(trimmed) || /^(true|false|null|-?\d+(\.\d+)?)$/.test(trimmed)) {
    try {
      return JSON.parse(trimmed);
    } catch {
      return value;
    }
  }
  return value;
}
