/**
 * The predictions API's test stack, all real processes of the platform in this process: the MLflow
 * stand-in with fraud-detector version 1 (the demo model, its sha256 tag, a reference profile built by
 * the drift tooling, the `class_names` tag), serving loading `models:/fraud-detector@champion` from it
 * with the API's key and its events going to the real monitor on real PostgreSQL, and the API's shell
 * with the prediction routes over real clients (serving, monitor, registry, ONNX Runtime sessions).
 */
import { randomBytes } from "node:crypto";
import { MlflowClient, createLogger } from "@mlops/common";
import { FEATURES, generateFraudData } from "@mlops/dev-fixtures";
import { roleAuthenticator as roleAuthenticatorOf, serveApi } from "../../helpers/api-kit";
import { ProfileBuilder } from "../../../services/drift/src/profile/builder";
import { createApiShell } from "../../../services/api/src/http/shell";
import type { Role } from "../../../services/api/src/identity/roles";
import { ModelSessions } from "../../../services/api/src/models/sessions";
import { ClassNames } from "../../../services/api/src/predict/class-names";
import { MonitorClient } from "../../../services/api/src/predict/monitor-client";
import { ServingClient } from "../../../services/api/src/predict/serving-client";
import { registerPredictionRoutes } from "../../../services/api/src/routes/predictions";
import { MlflowStub } from "../../helpers/mlflow-stub";
import { useTestDatabase } from "../../helpers/postgres";
import { startTestMonitor, TOKENS, type TestMonitor } from "../monitor/support";
import { startServing, tempDir, writeJson, writeModel, type Running } from "../serving/support";

export const MODEL = "fraud-detector";
export const CLASS_NAMES = ["legitimate", "fraudulent"];

/** `Bearer role:<role>` is a principal of that role (the identity module has its own tests). */
export const roleAuthenticator = roleAuthenticatorOf();

/** The drift tooling's reference profile of the demo training data (what a registered version carries). */
export function referenceProfile(rows = 2000): unknown {
  const data = generateFraudData({ rows, seed: 11 });
  const builder = new ProfileBuilder(FEATURES.map((name) => ({ name, kind: "numeric" as const, role: "feature" as const })));
  builder.addColumns(FEATURES.map((_, j) => Float64Array.from({ length: rows }, (_, r) => data.values[r * FEATURES.length + j])));
  return builder.finish("train.csv");
}

/** A shell serving the prediction routes over `deps`, on an ephemeral port. */
export async function startApi(deps: Parameters<typeof registerPredictionRoutes>[1]): Promise<{ url: string; close(): Promise<void> }> {
  const shell = createApiShell({
    logger: createLogger("api-test", "silent"),
    bodyLimitBytes: 1 << 20,
    authenticator: roleAuthenticator,
    audit: { record: async () => undefined },
    register: (api) => registerPredictionRoutes(api, deps),
  });
  return serveApi(shell.handler);
}

export interface PredictStack {
  api: string;
  serving: Running;
  monitor: TestMonitor;
  registry: InstanceType<typeof MlflowStub>;
  servingClient: ServingClient;
  monitorClient: MonitorClient;
  classNames: ClassNames;
  sessions: ModelSessions;
  apiKey: string;
  close(): Promise<void>;
}

/**
 * A test file's predict stack on a database of its own, started before its tests and stopped after them:
 *
 *   const stack = usePredictStack("api_predict");
 *   test("...", async () => { await call("POST", `${stack.api}/models/${MODEL}/predict`, ...) });
 *
 * The object is filled when the stack has started (in beforeAll), so tests and later hooks use it as is.
 */
export function usePredictStack(databasePrefix: string): PredictStack {
  const db = useTestDatabase(databasePrefix);
  const stack = {} as PredictStack;
  let started = false;
  beforeAll(async () => {
    Object.assign(stack, await startPredictStack(db.url));
    started = true;
  }, 60_000);
  afterAll(async () => {
    if (started) await stack.close();
  });
  return stack;
}

export async function startPredictStack(databaseUrl: string): Promise<PredictStack> {
  const registry = new MlflowStub();
  await registry.start();
  const model = await writeModel();
  registry.registerVersion(MODEL, { dir: model.dir, tags: { sha256: model.sha256 }, files: { "reference_profile.json": JSON.stringify(referenceProfile()) }, aliases: ["champion"] });
  const mlflow = new MlflowClient(registry.url);
  await mlflow.setRegisteredModelTag(MODEL, "class_names", JSON.stringify(CLASS_NAMES));

  const monitor = await startTestMonitor(databaseUrl);
  const apiKey = `api-key-${randomBytes(12).toString("hex")}`;
  const keys = writeJson(tempDir("serving-keys-"), "keys.json", { keys: [{ name: "platform-api", key: apiKey, ratePerMinute: 1_000_000 }] });
  const serving = await startServing({
    MODEL_URI: `models:/${MODEL}@champion`,
    MLFLOW_TRACKING_URI: registry.url,
    API_KEYS_FILE: keys,
    EVENT_SINKS: monitor.url,
    EVENT_SINK_TOKENS: TOKENS.EVENTS_TOKEN,
    EVENT_FLUSH_MS: "20",
  });

  const servingClient = new ServingClient({ urls: { [MODEL]: serving.url }, apiKey, timeoutMs: 5000 });
  const monitorClient = new MonitorClient({ url: monitor.url, readToken: TOKENS.READ_TOKEN, feedbackToken: TOKENS.FEEDBACK_TOKEN });
  const classNames = new ClassNames(mlflow);
  const sessions = new ModelSessions({ mlflow, cacheDir: tempDir("api-models-"), logger: createLogger("api-test", "silent") });
  const api = await startApi({ serving: servingClient, classNames, sessions, monitor: monitorClient, servedModels: () => servingClient.models() });
  return {
    api: api.url,
    serving,
    monitor,
    registry,
    servingClient,
    monitorClient,
    classNames,
    sessions,
    apiKey,
    close: async () => {
      await api.close();
      servingClient.close();
      monitorClient.close();
      await sessions.close();
      await serving.stop();
      await monitor.close();
      await registry.stop();
    },
  };
}

export interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

export async function call(method: string, url: string, opts: { role?: Role; body?: unknown } = {}): Promise<Answer> {
  const res = await fetch(url, {
    method,
    headers: { ...(opts.role ? { authorization: `Bearer role:${opts.role}` } : {}), ...(opts.body !== undefined ? { "content-type": "application/json" } : {}) },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

/** Row `seed` of the demo data as named features. */
export function features(seed = 1): Record<string, number> {
  const values = generateFraudData({ rows: 1, seed }).values;
  return Object.fromEntries(FEATURES.map((f, j) => [f, Math.round(values[j] * 1e4) / 1e4]));
}
