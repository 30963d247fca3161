import { isRegistryScheme, parseModelUri } from "../../../components/kubernetes/model-uri";

test("registry URIs: a model by alias or by version", () => {
  expect(parseModelUri("models:/fraud-detector@champion")).toEqual({ name: "fraud-detector", alias: "champion" });
  expect(parseModelUri("models:/fraud-detector/7")).toEqual({ name: "fraud-detector", version: 7 });
  expect(parseModelUri("models:/Fraud.Detector_v2@challenger-1")).toEqual({ name: "Fraud.Detector_v2", alias: "challenger-1" });
});

test.each(["models:/m", "models:/m@", "models:/m/", "models:/m/v2", "models:/m@a/1", "models:/@champion", "models:/my model@champion", "models:/m@champion ", "runs:/abc/model", "s3://bucket/m", ""])(
  "not a registry URI: %j",
  (uri) => expect(parseModelUri(uri)).toBeUndefined(),
);

test("what means to be a registry URI, as opposed to a file path", () => {
  expect(isRegistryScheme("models:/m")).toBe(true);
  expect(isRegistryScheme("/data/reference.json")).toBe(false);
});
