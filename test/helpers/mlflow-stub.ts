/**
 * The tests' MLflow stand-in is the one `npm start` runs (packages/dev-fixtures/src/mlflow-registry.ts),
 * under the names the tests have always imported; in memory unless given a `dir`.
 */
export {
  MlflowRegistry as MlflowStub,
  type RegistryOptions as StubOptions,
  type RegistryRequest as StubRequest,
  type RegistryVersion as StubVersion,
  type RegistryVersionInput as StubVersionInput,
} from "@mlops/dev-fixtures/mlflow-registry";
