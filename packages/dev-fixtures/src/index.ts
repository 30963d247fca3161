/**
 * `@mlops/dev-fixtures`: the demo "fraud-detector" toolkit, for tests, benchmarks and the local platform
 * (the throwaway PostgreSQL is `@mlops/dev-fixtures/postgres`):
 *
 * - `generateFraudData({rows, seed, shift})`: deterministic synthetic card-fraud data (`time`, `v1`..`v28`,
 *   `amount`, label), optionally from a shifted distribution; `toCsv` writes it with the `is_fraud` column.
 * - `trainLogisticRegression(data)`: the classifier; `predictProbability` evaluates it in JS.
 * - `logisticRegressionOnnx` / `encodeOnnxModel`: ONNX writers (protobufjs); `writeMlflowOnnxModel` the
 *   MLflow model directory; `writeFraudDetector` both at once.
 * - `makeDemoModel(outDir)`: model directory + training CSV + shifted CSV (also a CLI: make-demo-model.ts).
 */
export * from "./fraud-data";
export * from "./train";
export * from "./onnx";
export * from "./mlflow-model";
export * from "./make-demo-model";
