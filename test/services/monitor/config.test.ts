/** The monitor's configuration: defaults, and bad values named with what was expected. */
import { ConfigError, parseEnv } from "@mlops/common";
import { rulesFor } from "../../../services/monitor/src/config/alert-actions";
import { envSchema, modelsConfigOf } from "../../../services/monitor/src/env";

const DB = { DATABASE_URL: "postgresql://monitor:pw@db:5432/monitor" };

function problems(env: Record<string, string>): string[] {
  try {
    parseEnv(envSchema, { ...DB, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

test("defaults: ports, windows 1h/24h/7d, 30 days of retention, the demo fraud model's outputs", () => {
  const e = parseEnv(envSchema, DB);
  expect(e).toMatchObject({ PORT: 8080, METRICS_PORT: 9090, RETENTION_DAYS: 30, QUALITY_REFRESH_S: 30, ROLLBACK_ALIAS: "champion", STORE_FEATURES: true, ALERT_ACTIONS: [] });
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

test("ALERT_ACTIONS: the component's list form and the shorthand; what each alert triggers", () => {
  const list = parseEnv(envSchema, {
    ...DB,
    MLFLOW_TRACKING_URI: "http://mlflow:5000",
    WEBHOOK_SECRET: "0123456789abcdef0123",
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
    "WEBHOOK_SECRET=(unset): required: ALERT_ACTIONS has a retrain action, whose webhook is HMAC-signed",
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
