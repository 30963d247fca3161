/**
 * What the models and deploy tests share: the API shell with the models and deploy routes over a real
 * MLflow stand-in (HTTP), a fake authenticator (`Bearer role:<role>`), and model versions built from
 * real ONNX models: the demo fraud detector trained once, written as MLflow model directories with an
 * input example, registered with a training run whose metrics are the model's measured quality.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createLogger, MlflowClient } from "@mlops/common";
import { generateFraudData, trainLogisticRegression, writeFraudDetector, type LogisticModel } from "@mlops/dev-fixtures";
import { evaluateOnnxClassifier } from "@mlops/dev-fixtures/mlflow-registry-seed";
import { parse, stringify } from "yaml";
import type { ServingProfile } from "../../../services/api/src/env";
import { DeployGate, type GateSettings } from "../../../services/api/src/gate/deploy-gate";
import type { AuditEntry } from "../../../services/api/src/http/endpoint";
import { createApiShell } from "../../../services/api/src/http/shell";
import type { Authenticator, Environment, Role } from "../../../services/api/src/identity/roles";
import { ModelRegistry } from "../../../services/api/src/models/registry";
import { registerDeployRoutes } from "../../../services/api/src/routes/deploy";
import { registerModelRoutes } from "../../../services/api/src/routes/models";
import { roleAuthenticator, serveApi } from "../../helpers/api-kit";
import { MlflowStub } from "../../helpers/mlflow-stub";

/** `Bearer role:<role>` is a principal of that role, with the role's permissions in `environment`. */
export function fakeAuthenticator(environment: Environment): Authenticator {
  return roleAuthenticator(environment, (role) => `${role}-user`);
}
export const DEFAULT_GATE: GateSettings = { latencyBudgetMs: 250, championMargin: 0.01, minMetrics: { accuracy: 0.85 }, challengerCap: 50 };

export interface ApiUnderTest {
  base: string;
  stub: MlflowStub;
  mlflow: MlflowClient;
  audit: AuditEntry[];
  /** The OpenAPI document generated from the routes' schemas. */
  openapi: Record<string, unknown>;
  call(method: string, route: string, opts?: { role?: Role; body?: unknown }): Promise<{ status: number; body: any }>;
  /** Registry writes (POST/PATCH/PUT/DELETE) the stand-in received since `from` (an index into stub.requests). */
  writesSince(from: number): string[];
  close(): Promise<void>;
}

export interface ApiOptions {
  environment?: Environment;
  gate?: Partial<GateSettings>;
  servingProfile?: ServingProfile;
  /** Share a stand-in between two APIs (prod and dev views of one registry). */
  stub?: MlflowStub;
}

/** The models and deploy routes, served over HTTP, against an MLflow stand-in of their own (or `opts.stub`). */
export async function startModelsApi(opts: ApiOptions = {}): Promise<ApiUnderTest> {
  const environment = opts.environment ?? "dev";
  const stub = opts.stub ?? new MlflowStub();
  if (!opts.stub) await stub.start();
  const mlflow = new MlflowClient(stub.url);
  const cacheDir = await mkdtemp(path.join(os.tmpdir(), "api-models-cache-"));
  const registry = new ModelRegistry(mlflow);
  const settings = { ...DEFAULT_GATE, ...opts.gate };
  const gate = new DeployGate({ mlflow, registry, cacheDir, settings });
  const audit: AuditEntry[] = [];
  const shell = createApiShell({
    logger: createLogger("api-models-test", "silent"),
    bodyLimitBytes: 1024 * 1024,
    authenticator: fakeAuthenticator(environment),
    audit: { record: async (e) => void audit.push(e) },
    register: (api) => {
      registerModelRoutes(api, { registry });
      registerDeployRoutes(api, { registry, gate, mlflow, environment, challengerCap: settings.challengerCap, servingProfile: opts.servingProfile });
    },
  });
  const served = await serveApi(shell.handler);
  const base = served.url;
  return {
    base,
    stub,
    mlflow,
    audit,
    openapi: shell.openapi,
    async call(method, route, { role = "admin", body } = {}) {
      const res = await fetch(`${base}${route}`, {
        method,
        headers: { authorization: `Bearer role:${role}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    writesSince(from) {
      return stub.requests.slice(from).filter((r) => r.method !== "GET").map((r) => `${r.method} ${r.path}`);
    },
    async close() {
      await served.close();
      if (!opts.stub) await stub.stop();
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
}

let trained: LogisticModel | undefined;
/** The demo fraud detector's weights, trained once per test file. */
export function fraudModel(): LogisticModel {
  return (trained ??= trainLogisticRegression(generateFraudData({ rows: 3000, seed: 7 })));
}

export interface VersionDirOptions {
  /** Shifts the logistic regression's bias: a different (worse) model of the same signature. */
  biasShift?: number;
  /** Write an input example (orient split) of this many rows; 0 writes none. Default 3. */
  exampleRows?: number;
  /** Replace the MLmodel signature's inputs (e.g. a tensor spec, or other columns). */
  signatureInputs?: unknown[];
  /** Replace model.onnx with these bytes after writing (the sha256 returned is the new file's). */
  onnxBytes?: Uint8Array;
}

/** Writes a fraud-detector MLflow model directory; returns its model.onnx sha256 (the registry tag's value). */
export async function writeVersionDir(dir: string, opts: VersionDirOptions = {}): Promise<string> {
  let sha256 = await writeFraudDetector(dir, fraudModel(), opts.biasShift ?? 0);
  const mlmodelPath = path.join(dir, "MLmodel");
  const doc = parse(await readFile(mlmodelPath, "utf8"));
  if (opts.signatureInputs) doc.signature.inputs = JSON.stringify(opts.signatureInputs);
  const inputs: { name?: string; type: string }[] = JSON.parse(doc.signature.inputs);
  const exampleRows = opts.exampleRows ?? 3;
  if (exampleRows > 0) {
    // As MLflow saves it: a dataframe (orient split) for a column signature, a tensor for a tensor signature.
    const data = generateFraudData({ rows: exampleRows, seed: 99 });
    const width = data.features.length;
    const rows = Array.from({ length: exampleRows }, (_, r) => Array.from(data.values.subarray(r * width, (r + 1) * width)));
    const tensor = inputs.some((c) => c.type === "tensor");
    await writeFile(path.join(dir, "input_example.json"), JSON.stringify(tensor ? { inputs: rows } : { columns: inputs.map((c) => c.name), data: rows }));
    doc.saved_input_example_info = tensor ? { artifact_path: "input_example.json", type: "ndarray", format: "tf-serving" } : { artifact_path: "input_example.json", type: "dataframe", pandas_orient: "split" };
  }
  await writeFile(mlmodelPath, stringify(doc));
  if (opts.onnxBytes) {
    await writeFile(path.join(dir, "model.onnx"), opts.onnxBytes);
    sha256 = createHash("sha256").update(opts.onnxBytes).digest("hex");
  }
  return sha256;
}

/** A finished training run with these metrics (through the stand-in's REST API, as a training job logs them). */
export async function createRun(stubUrl: string, metrics: Record<string, number>): Promise<string> {
  const post = async (route: string, body: unknown) => {
    const res = await fetch(`${stubUrl}/api/2.0/mlflow/${route}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<any>;
  };
  const runId: string = (await post("runs/create", { run_name: "train" })).run.info.run_id;
  await post("runs/log-batch", { run_id: runId, metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, timestamp: Date.now(), step: 0 })) });
  return runId;
}

export interface RegisteredVersion {
  version: string;
  dir: string;
  sha256: string;
  metrics: Record<string, number>;
}

/**
 * Writes a version directory under `root`, measures the model on held-out data (unless `metrics` are
 * given), logs them in a run, and registers the version with its sha256 tag (or `sha256Tag`; null for none).
 */
export async function registerVersion(
  stub: MlflowStub,
  root: string,
  name: string,
  opts: VersionDirOptions & { aliases?: string[]; metrics?: Record<string, number>; sha256Tag?: string | null } = {},
): Promise<RegisteredVersion> {
  const dir = await mkdtemp(path.join(root, `${name}-`));
  const sha256 = await writeVersionDir(dir, opts);
  const metrics: Record<string, number> = opts.metrics ?? { ...(await evaluateOnnxClassifier(dir)) };
  const runId = await createRun(stub.url, metrics);
  const tags: Record<string, string> = opts.sha256Tag === null ? {} : { sha256: opts.sha256Tag ?? sha256 };
  const version = stub.registerVersion(name, { dir, tags, runId, aliases: opts.aliases });
  return { version, dir, sha256, metrics };
}
