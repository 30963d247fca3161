/** The monitor's configuration: defaults, and bad values named with what was expected (never a secret's value). */
import { ConfigError, parseEnv } from "@mlops/common";
import { rulesFor } from "../../../services/monitor/src/config/alert-actions";
import { envSchema, maxConcurrentBatches, modelsConfigOf } from "../../../services/monitor/src/env";
import { TOKENS } from "./support";

/** What every valid configuration has: the database, the four credentials, one model. */
const DB = { DATABASE_URL: "postgresql://monitor:pw@db:5432/monitor", ...TOKENS, MODELS_CONFIG: '{"fraud-detector": {}}' };

function problems(env: Record<string, string>, base: Record<string, string> = DB): string[] {
  try {
    parseEnv(envSchema, { ...base, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

test("defaults: ports, windows 1h/24h/7d, 30 days of retention, the demo fraud model's outputs, bodies sized to serving's batches", () => {
  const e = parseEnv(envSchema, DB);
  expect(e).toMatchObject({ PORT: 8080, METRICS_PORT: 9090, ALERT_PORT: 8081, RETENTION_DAYS: 30, QUALITY_REFRESH_S: 30, ROLLBACK_ALIAS: "champion", STORE_FEATURES: true, ALERT_ACTIONS: [] });
  // Serving sends at most 500 events (EVENT_BATCH_SIZE) of about 1 KiB: 4 MiB and 5,000 events leave headroom.
  expect(e).toMatchObject({ MAX_BODY_BYTES: 4 * 1024 * 1024, MAX_BATCH_EVENTS: 5000 });
  expect(e.INGEST_WORKERS).toBeGreaterThanOrEqual(1);
  expect(e.INGEST_WORKERS).toBeLessThanOrEqual(4);
  expect(maxConcurrentBatches(e)).toBe(Math.max(2, 2 * e.INGEST_WORKERS));
  expect(maxConcurrentBatches({ INGEST_WORKERS: 0, MAX_CONCURRENT_BATCHES: undefined })).toBe(2);
  expect(maxConcurrentBatches({ INGEST_WORKERS: 4, MAX_CONCURRENT_BATCHES: 3 })).toBe(3);
  expect(e.QUALITY_WINDOWS).toEqual([
    { name: "1h", seconds: 3600 },
    { name: "24h", seconds: 86_400 },
    { name: "7d", seconds: 604_800 },
  ]);
  expect(modelsConfigOf(e).get("fraud-detector")).toEqual({ task: "classification", predictionOutput: "label", scoreOutput: "probability", scoreIndex: 1, positiveClass: "1" });
});

test("MODELS_CONFIG: per-model task and outputs; errors name the model and the field", () => {
  const e = parseEnv(envSchema, { ...DB, MODELS_CONFIG: '{"price": {"task": "regression"}, "churn": {"positiveClass": true, "scoreOutput": null}}' });
  const models = modelsConfigOf(e);
  expect(models.get("price")).toMatchObject({ task: "regression", predictionOutput: "prediction" });
  expect(models.get("churn")).toMatchObject({ task: "classification", predictionOutput: "label", scoreOutput: undefined, positiveClass: "1" });
  expect(problems({ MODELS_CONFIG: "{nope" })[0]).toMatch(/^MODELS_CONFIG="\{nope": MODELS_CONFIG is not valid JSON/);
  expect(problems({ MODELS_CONFIG: '{"m": {"task": "ranking"}}' })[0]).toContain("MODELS_CONFIG: m.task: ");
  expect(problems({ MODELS_CONFIG: '{"m": {"predictonOutput": "x"}}' })[0]).toContain('Unrecognized key: "predictonOutput"');
  expect(problems({ MODELS_CONFIG: '{"m": {"task": "regression", "positiveClass": 1}}' })[0]).toContain("m: a regression model has no scoreOutput or positiveClass");
  expect(problems({ MODELS_CONFIG_FILE: "/nonexistent/models.json" })[0]).toContain("MODELS_CONFIG_FILE=");
});

test("MODELS_CONFIG must name the models the monitor accepts: none is a configuration error", () => {
  expect(problems({ MODELS_CONFIG: "" })).toEqual(['MODELS_CONFIG="": required: name the models the monitor accepts, e.g. {"fraud-detector": {}} (events of any other model are refused)']);
  expect(problems({ MODELS_CONFIG: "{}" })[0]).toContain("MODELS_CONFIG=\"{}\": required: name the models");
  expect(modelsConfigOf(parseEnv(envSchema, { ...DB, MODELS_CONFIG: '{"a": {}, "b": {"task": "regression"}}' })).names).toEqual(["a", "b"]);
});

describe("credentials: required, long enough, each different, never echoed", () => {
  const VARS = ["EVENTS_TOKEN", "FEEDBACK_TOKEN", "READ_TOKEN", "ALERT_RECEIVER_TOKEN"] as const;

  test.each(VARS)("%s missing: the monitor refuses to start", (name) => {
    const env: Record<string, string> = { ...DB };
    delete env[name];
    const found = problems({}, env);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(new RegExp(`^${name}=\\(unset\\): required: the bearer token of `));
  });

  test("too short: refused, without the value", () => {
    const found = problems({ READ_TOKEN: "tiny-secret" });
    expect(found).toEqual(["READ_TOKEN=([redacted], 11 characters): use at least 16 characters"]);
  });

  test("two equal credentials (one would open the other's calls): refused, naming both and showing neither", () => {
    const found = problems({ FEEDBACK_TOKEN: TOKENS.EVENTS_TOKEN, ALERT_RECEIVER_TOKEN: TOKENS.READ_TOKEN });
    expect(found).toEqual([
      `FEEDBACK_TOKEN=([redacted], ${TOKENS.EVENTS_TOKEN.length} characters): must differ from EVENTS_TOKEN: each credential guards one kind of call`,
      `ALERT_RECEIVER_TOKEN=([redacted], ${TOKENS.READ_TOKEN.length} characters): must differ from READ_TOKEN: each credential guards one kind of call`,
    ]);
    for (const secret of Object.values(TOKENS)) expect(found.join("\n")).not.toContain(secret);
  });

  test("ALERT_PORT is a listener of its own", () => {
    expect(problems({ ALERT_PORT: "8080" })).toEqual(['ALERT_PORT="8080": must differ from PORT and METRICS_PORT: the alert receiver has a listener of its own']);
  });
});

test("ALERT_ACTIONS: the component's list form and the shorthand; what each alert triggers", () => {
  const list = parseEnv(envSchema, {
    ...DB,
    MLFLOW_TRACKING_URI: "http://mlflow:5000",
    RETRAIN_WEBHOOK_SECRET: "0123456789abcdef0123",
    ALERT_ACTIONS: '[{"alert": "ModelQualityLow", "model": "fraud-detector", "action": "rollback"}, {"alert": "DataDriftCritical", "action": "retrain", "url": "https://ci.example/retrain"}]',
  }).ALERT_ACTIONS;
  expect(rulesFor(list, "ModelQualityLow", "fraud-detector").map((r) => r.action)).toEqual(["rollback"]);
  expect(rulesFor(list, "ModelQualityLow", "other")).toEqual([]);
  expect(rulesFor(list, "DataDriftCritical", "any-model")).toEqual([{ alert: "DataDriftCritical", action: "retrain", url: "https://ci.example/retrain" }]);
  const short = parseEnv(envSchema, { ...DB, MLFLOW_TRACKING_URI: "http://mlflow:5000", ALERT_ACTIONS: '{"ModelQualityLow": "rollback"}' }).ALERT_ACTIONS;
  expect(short).toEqual([{ alert: "ModelQualityLow", action: "rollback" }]);
});

test("ALERT_ACTIONS needs what its actions use", () => {
  expect(problems({ ALERT_ACTIONS: '{"ModelQualityLow": "rollback"}' })).toEqual(['MLFLOW_TRACKING_URI=(unset): required: ALERT_ACTIONS has a rollback, which moves an MLflow alias']);
  expect(problems({ ALERT_ACTIONS: '{"DataDriftCritical": "retrain"}' })).toEqual([
    "RETRAIN_WEBHOOK_URL=(unset): required: the retrain action of DataDriftCritical has no url of its own",
    "RETRAIN_WEBHOOK_SECRET=(unset): required: ALERT_ACTIONS has a retrain action, whose webhook is HMAC-signed",
  ]);
  // The old name is refused rather than ignored, so a stale deployment does not run with an unsigned webhook.
  expect(problems({ WEBHOOK_SECRET: "0123456789abcdef0123", RETRAIN_WEBHOOK_SECRET: "0123456789abcdef0123" })).toEqual([
    "WEBHOOK_SECRET=([redacted], 20 characters): renamed: set RETRAIN_WEBHOOK_SECRET instead (the retraining webhook has a secret of its own)",
  ]);
  expect(problems({ ALERT_ACTIONS: '{"X": "page"}' })[0]).toContain("ALERT_ACTIONS: X: expected one of rollback, retrain");
});

test("windows, retention and the database URL", () => {
  expect(problems({ QUALITY_WINDOWS: "1h,1h" })[0]).toContain('window "1h" is listed twice');
  expect(problems({ QUALITY_WINDOWS: "1h,0m" })[0]).toContain('"0m" is not a window');
  expect(problems({ RETENTION_DAYS: "3" })).toEqual(['QUALITY_WINDOWS=(unset): the longest window exceeds RETENTION_DAYS=3: its data would already be deleted']);
  expect(problems({ DATABASE_URL: "mysql://x" })[0]).toContain("expected a postgresql://user:password@host:port/database URL");
  expect(problems({ ALERT_RECEIVER_TOKEN: "short" })[0]).toContain("ALERT_RECEIVER_TOKEN");
});

test("a DATABASE_URL with a password is never echoed in a configuration error", () => {
  const found = problems({ DATABASE_URL: "mysql://monitor:hunter2-db-password@db:3306/monitor" });
  expect(found).toHaveLength(1);
  expect(found[0]).toMatch(/^DATABASE_URL=\(\[redacted\], \d+ characters\): expected a postgresql:/);
  expect(found[0]).not.toContain("hunter2");
});

test("retraining webhook URLs (they carry tokens) are not echoed when another variable is wrong", () => {
  const found = problems({ RETRAIN_WEBHOOK_URL: "not a url with token-abc123" });
  expect(found[0]).toMatch(/^RETRAIN_WEBHOOK_URL=\(\[redacted\]/);
  expect(found.join("\n")).not.toContain("token-abc123");
});
