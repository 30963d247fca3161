import { createHash, randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { stringify } from "yaml";

/** One column of an MLflow column-based signature (`{"type": "double", "name": "amount", "required": true}`). */
export interface SignatureColumn {
  name: string;
  type: "double" | "float" | "long" | "integer" | "boolean" | "string";
  /** Default true; an optional column may be missing or null (serving feeds NaN). */
  required?: boolean;
}

export const INPUT_EXAMPLE_FILE = "input_example.json";

export interface MlflowOnnxModel {
  /** Column names of the signature, in the order of the ONNX input's last dimension (type double), or full columns. */
  features: (string | SignatureColumn)[];
  onnx: Uint8Array;
  outputs: SignatureColumn[];
  /** Omit the signature entirely (a model logged without one: positional tensors only). */
  withoutSignature?: boolean;
  /** Rows to save as the model's input example (`input_example.json`, pandas split orient), as `log_model(input_example=...)` does. */
  inputExample?: number[][];
}

/**
 * Writes an MLflow model directory in the ONNX flavor, as `mlflow.onnx.log_model` does: `MLmodel` with the
 * onnx and python_function flavors and a column-based signature, `model.onnx`, and the environment files
 * MLflow writes next to them. Returns the sha256 (hex) of `model.onnx`: the value of the registry's
 * `sha256` tag that serving checks.
 */
export async function writeMlflowOnnxModel(dir: string, model: MlflowOnnxModel): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "model.onnx"), model.onnx);
  const inputs = model.features.map((f) => (typeof f === "string" ? { type: "double", name: f, required: true } : { type: f.type, name: f.name, required: f.required ?? true }));
  const mlmodel: Record<string, unknown> = {
    artifact_path: "model",
    flavors: {
      onnx: { code: null, data: "model.onnx", onnx_version: "1.16.0", providers: ["CPUExecutionProvider"] },
      python_function: { data: "model.onnx", env: { conda: "conda.yaml", virtualenv: "python_env.yaml" }, loader_module: "mlflow.onnx", python_version: "3.11.7" },
    },
    mlflow_version: "2.17.2",
    model_size_bytes: model.onnx.length,
    model_uuid: randomUUID().replace(/-/g, ""),
    utc_time_created: new Date().toISOString().replace("T", " ").replace("Z", ""),
  };
  if (!model.withoutSignature) {
    mlmodel.signature = {
      inputs: JSON.stringify(inputs),
      outputs: JSON.stringify(model.outputs.map((o) => ({ type: o.type, name: o.name, required: o.required ?? true }))),
      params: null,
    };
  }
  if (model.inputExample) {
    const columns = inputs.map((c) => c.name);
    await writeFile(path.join(dir, INPUT_EXAMPLE_FILE), JSON.stringify({ columns, data: model.inputExample }));
    mlmodel.saved_input_example_info = { artifact_path: INPUT_EXAMPLE_FILE, type: "dataframe", pandas_orient: "split" };
  }
  await writeFile(path.join(dir, "MLmodel"), stringify(mlmodel));
  const requirements = ["mlflow==2.17.2", "onnx==1.16.0", "onnxruntime==1.19.2"];
  await writeFile(path.join(dir, "requirements.txt"), `${requirements.join("\n")}\n`);
  await writeFile(path.join(dir, "python_env.yaml"), stringify({ python: "3.11.7", build_dependencies: ["pip"], dependencies: ["-r requirements.txt"] }));
  await writeFile(path.join(dir, "conda.yaml"), stringify({ channels: ["conda-forge"], dependencies: ["python=3.11.7", "pip", { pip: requirements }], name: "mlflow-env" }));
  return createHash("sha256").update(model.onnx).digest("hex");
}
