import { MIN_TOKEN_LENGTH, env, parseEnv, redactUrl, serviceEnvFields } from "@mlops/common";
import { z } from "zod";

const MODEL_URI = /^(file:\/\/\/.+|models:\/[^/@]+(@[A-Za-z0-9_-]+|\/\d+))$/;
const modelUri = z.string().regex(MODEL_URI, "expected file:///<dir>, models:/<name>@<alias> or models:/<name>/<version>");

/** Every variable the serving service reads; README.md documents them. */
export const servingEnvSchema = z
  .object({
    ...serviceEnvFields,
    HOST: z.string().min(1).default("0.0.0.0"),
    /** The name clients use in URLs (`/v2/models/<name>`); default: the registry name or the directory name. */
    MODEL_NAME: z.string().regex(/^[A-Za-z0-9_.-]+$/, "expected a model name (letters, digits, . _ -)").optional(),
    MODEL_URI: modelUri,
    CHALLENGER_URI: modelUri.optional(),
    /** The challenger's share (percent) while the registry's mlops.challenger_weight tag is absent, and for a URI that is no alias. */
    CHALLENGER_WEIGHT: z.coerce.number({ message: "expected 0-100" }).min(0, "expected 0-100").max(100, "expected 0-100").default(0),
    /** The most challenger share serving applies, whatever its source (the stack sets the environment's cap: prod 10, dev 50). */
    MAX_CHALLENGER_WEIGHT: z.coerce.number({ message: "expected 0-100" }).min(0, "expected 0-100").max(100, "expected 0-100").default(100),
    SHADOW: env.bool(false),
    ROUTING_KEY_HEADER: z.string().regex(/^[A-Za-z0-9-]+$/, "expected an HTTP header name").default("x-routing-key").transform((h) => h.toLowerCase()),
    MLFLOW_TRACKING_URI: z.url({ protocol: /^https?$/, message: "expected the MLflow server URL, e.g. http://mlflow:5000" }).optional(),
    MLFLOW_TRACKING_USERNAME: z.string().optional(),
    MLFLOW_TRACKING_PASSWORD: z.string().optional(),
    MLFLOW_TRACKING_TOKEN: z.string().optional(),
    MODEL_CACHE_DIR: z.string().min(1).default("/tmp/models"),
    RELOAD_INTERVAL_S: z.coerce.number({ message: "expected seconds (0 disables polling)" }).min(0, "expected seconds (0 disables polling)").default(30),
    EVENT_SINKS: env.list().pipe(z.array(z.url({ protocol: /^https?$/, message: "expected comma-separated base URLs, e.g. http://drift:8080,http://monitor:8080" }))),
    /** One bearer token per sink, same order as EVENT_SINKS: the sinks refuse event batches without theirs. */
    EVENT_SINK_TOKENS: env.list(),
    EVENT_SAMPLE_RATE: z.coerce.number({ message: "expected a share between 0 and 1" }).min(0, "expected a share between 0 and 1").max(1, "expected a share between 0 and 1").default(1),
    EVENT_BATCH_SIZE: env.int(500, 1),
    EVENT_QUEUE_SIZE: env.int(10_000, 1),
    EVENT_FLUSH_MS: env.int(1000, 10),
    EVENT_RETRIES: env.int(3, 0),
    EVENT_RETRY_BACKOFF_MS: env.int(500, 1),
    API_KEYS_FILE: z.string().min(1).optional(),
    RATE_LIMIT_PER_MINUTE: env.int(1000, 1),
    MAX_BODY_BYTES: env.int(8 * 1024 * 1024, 1024),
    MAX_ROWS: env.int(10_000, 1),
    /** ONNX Runtime intra-op threads; default: the container's CPU quota. */
    ORT_THREADS: z.coerce.number().int().min(1, "expected a positive integer").optional(),
    /** Busy-waiting ORT worker threads trade CPU for latency; off by default next to the event loop. */
    ORT_SPINNING: env.bool(false),
    SHUTDOWN_TIMEOUT_S: env.int(25, 1),
  })
  .superRefine((c, ctx) => {
    const needsMlflow = [c.MODEL_URI, c.CHALLENGER_URI].some((u) => u?.startsWith("models:/"));
    if (needsMlflow && !c.MLFLOW_TRACKING_URI) ctx.addIssue({ code: "custom", path: ["MLFLOW_TRACKING_URI"], message: "required when MODEL_URI or CHALLENGER_URI is models:/..." });
    if (c.SHADOW && !c.CHALLENGER_URI) ctx.addIssue({ code: "custom", path: ["SHADOW"], message: "shadow mode needs CHALLENGER_URI" });
    if (c.SHADOW && c.CHALLENGER_WEIGHT > 0) ctx.addIssue({ code: "custom", path: ["CHALLENGER_WEIGHT"], message: "must be 0 with SHADOW=true (a shadow challenger answers no live traffic)" });
    if (c.CHALLENGER_WEIGHT > 0 && !c.CHALLENGER_URI) ctx.addIssue({ code: "custom", path: ["CHALLENGER_WEIGHT"], message: "needs CHALLENGER_URI" });
    for (const message of sinkTokenProblems(c.EVENT_SINKS, c.EVENT_SINK_TOKENS)) ctx.addIssue({ code: "custom", path: ["EVENT_SINK_TOKENS"], message });
  });

/** A token travels in a header: printable ASCII without spaces (a comma would split the list anyway). */
const TOKEN_CHARACTERS = /^[\x21-\x7e]+$/;

/**
 * Why EVENT_SINK_TOKENS does not fit EVENT_SINKS (empty when it does). Fail closed: a sink without its
 * token would only answer 401, and events sent unauthenticated are what the sinks must not accept. The
 * messages name positions and lengths, never a token's characters.
 */
export function sinkTokenProblems(sinks: readonly string[] | undefined, tokens: readonly string[] | undefined): string[] {
  if (!Array.isArray(sinks) || !Array.isArray(tokens)) return [];
  if (sinks.length === 0 && tokens.length === 0) return [];
  if (tokens.length !== sinks.length) {
    return [`needs one token per EVENT_SINKS entry, in the same order: EVENT_SINKS names ${sinks.length} sink(s), EVENT_SINK_TOKENS holds ${tokens.length} token(s)`];
  }
  const problems: string[] = [];
  tokens.forEach((token, i) => {
    if (token.length < MIN_TOKEN_LENGTH) problems.push(`token ${i + 1} (for ${redactUrl(sinks[i])}) has ${token.length} characters; at least ${MIN_TOKEN_LENGTH} are needed`);
    else if (!TOKEN_CHARACTERS.test(token)) problems.push(`token ${i + 1} (for ${redactUrl(sinks[i])}) holds characters a header cannot carry (printable ASCII without spaces only)`);
  });
  return problems;
}

export type ServingConfig = z.infer<typeof servingEnvSchema>;

/** Throws ConfigError (one line per bad variable, naming it and its value). */
export function loadServingConfig(source: NodeJS.ProcessEnv = process.env): ServingConfig {
  return parseEnv(servingEnvSchema as unknown as z.ZodObject, source) as ServingConfig;
}

/** The name clients use: MODEL_NAME, else the registry name, else the model directory's name. */
export function modelNameOf(config: ServingConfig): string {
  if (config.MODEL_NAME) return config.MODEL_NAME;
  const registry = /^models:\/([^/@]+)/.exec(config.MODEL_URI);
  if (registry) return decodeURIComponent(registry[1]);
  const dir = config.MODEL_URI.replace(/\/+$/, "").split("/").pop() ?? "model";
  return dir.replace(/[^A-Za-z0-9_.-]/g, "-") || "model";
}
