/**
 * A stand-in for an MLflow tracking server: the model registry, the runs and experiments the platform
 * reads, and the artifact proxy (`mlflow server --serve-artifacts`), with MLflow's REST routes, parameters,
 * response shapes and error bodies (`{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "..."}`, HTTP
 * statuses as MLflow maps its error codes), as documented at https://mlflow.org/docs/latest/rest-api.html.
 * Tests use it in memory; `npm start` runs it file-backed (mlflow-registry-server.ts), so serving loads
 * `models:/fraud-detector@champion` and the monitor moves aliases locally as in the cluster.
 *
 * Registry (`/api/2.0/mlflow/...`):
 *   POST   registered-models/create        {name, description?, tags?}            -> {registered_model}
 *   GET    registered-models/get           ?name                                  -> {registered_model}
 *   GET    registered-models/search        ?filter&max_results&page_token         -> {registered_models?, next_page_token?}
 *          (filter: name='x' or name LIKE/ILIKE '%x%'; by name; max_results 1..1000, default 100)
 *   PATCH  registered-models/update        {name, description}                    -> {registered_model}
 *   DELETE registered-models/delete        {name}                                 -> {} (its versions and their files too)
 *   POST   registered-models/set-tag       {name, key, value}                     -> {}
 *   DELETE registered-models/delete-tag    {name, key}                            -> {}
 *   POST   registered-models/alias         {name, alias, version}                 -> {}
 *   DELETE registered-models/alias         {name, alias}                          -> {}
 *   GET    registered-models/alias         ?name&alias                            -> {model_version}
 *   POST   model-versions/create           {name, source, run_id?, tags?, description?} -> {model_version}
 *   GET    model-versions/get              ?name&version                          -> {model_version}
 *   PATCH  model-versions/update           {name, version, description}           -> {model_version}
 *   GET    model-versions/search           ?filter=name='x'&max_results&page_token -> {model_versions, next_page_token?}
 *   GET    model-versions/get-download-uri ?name&version                          -> {artifact_uri: "mlflow-artifacts:/..."}
 *   POST   model-versions/set-tag          {name, version, key, value}            -> {}
 *   DELETE model-versions/delete-tag       {name, version, key}                   -> {}
 * Tracking:
 *   POST   experiments/create              {name, artifact_location?, tags?}      -> {experiment_id}
 *   GET    experiments/get                 ?experiment_id                         -> {experiment}
 *   GET    experiments/get-by-name         ?experiment_name                       -> {experiment}
 *   POST   runs/create                     {experiment_id?, run_name?, start_time?, tags?} -> {run}
 *   GET    runs/get                        ?run_id                                -> {run: {info, data: {metrics, params, tags}}}
 *   POST   runs/update                     {run_id, status?, end_time?, run_name?} -> {run_info}
 *   POST   runs/log-metric                 {run_id, key, value, timestamp, step?} -> {}
 *   POST   runs/log-parameter              {run_id, key, value}                   -> {}
 *   POST   runs/set-tag                    {run_id, key, value}                   -> {}
 *   POST   runs/log-batch                  {run_id, metrics?, params?, tags?}     -> {}
 * Artifact proxy (`/api/2.0/mlflow-artifacts/artifacts`):
 *   GET    ?path=<dir>                     -> {files: [{path (base name), is_dir, file_size}]} ({} when empty)
 *   GET    /<path>                         -> the file's bytes
 *   PUT    /<path>                         -> stores the body as that file
 * And `GET /health` -> `OK` (without credentials, for readiness probes), as MLflow answers it.
 *
 * Usage:
 *
 *   const registry = new MlflowRegistry({ basicAuth: { username: "u", password: "p" } });  // or { dir } to persist
 *   await registry.start();                                 // registry.url = http://127.0.0.1:<port> (or start(port, host))
 *   const v = registry.registerVersion("fraud", { dir: modelDir, tags: { sha256 }, aliases: ["champion"] });
 *   registry.setAlias("fraud", "challenger", v);
 *   registry.failNext("/api/2.0/mlflow/registered-models/alias", 503);   // one injected failure
 *   registry.requests                                       // every call, in order
 *   await registry.seedDemo({ name: "fraud-detector", modelDir });      // version 1 @champion with its run
 *   await registry.stop();
 *
 * State: in memory, or with `dir` one JSON file (`<dir>/registry.json`, replaced atomically after every
 * change) plus the artifact files under `<dir>/artifacts/`; a restart with the same `dir` serves the same
 * registry. `registerVersion` serves a version's files under `mlflow-artifacts:/models/<name>/<version>`:
 * in memory from `dir` (read at request time, so tests may change them) and `files` (which shadow `dir`);
 * file-backed, both are copied into the artifact store, since the registry must outlive them.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync, readdirSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { DiskArtifactStore, filesUnder, MemoryArtifactStore, normalizeArtifactPath, type ArtifactEntry, type ArtifactStore } from "./mlflow-artifact-store";
import { evaluateOnnxClassifier, HELD_OUT, onnxFileOf, sha256Of } from "./mlflow-registry-seed";

export interface RegistryVersionInput {
  /** A directory whose files are the version's artifacts. */
  dir?: string;
  /** In-memory artifacts, by relative path (`MLmodel`, `sub/file.json`); they shadow files of `dir`. */
  files?: Record<string, string | Uint8Array>;
  tags?: Record<string, string>;
  aliases?: string[];
  runId?: string;
  description?: string;
}

export interface RegistryVersion {
  name: string;
  version: string;
  /** In memory only: a directory read at request time. */
  dir?: string;
  /** In memory only: files that shadow `dir`. */
  files: Map<string, Buffer>;
  tags: Map<string, string>;
  runId: string;
  description: string;
  source: string;
  /** Where the version's files are in the artifact proxy (what get-download-uri answers). */
  artifactPath: string;
  created: number;
  updated: number;
}

export interface RegistryRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: unknown;
  authorization?: string;
}

export interface RegistryOptions {
  /** Refuse calls without these credentials (401), as MLflow's basic-auth app does. */
  basicAuth?: { username: string; password: string };
  /** Or refuse calls without `Authorization: Bearer <token>`. */
  bearerToken?: string;
  /** Persist the registry and its artifacts in this directory; in memory without it. */
  dir?: string;
  /** Hears of every answered request (the CLI logs them). */
  onResponse?: (entry: { method: string; path: string; status: number; ms: number }) => void;
}

interface ModelRecord {
  name: string;
  created: number;
  updated: number;
  description: string;
  tags: Map<string, string>;
  versions: RegistryVersion[];
  aliases: Map<string, string>;
}

interface Metric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

interface RunRecord {
  runId: string;
  experimentId: string;
  runName: string;
  status: string;
  startTime: number;
  endTime?: number;
  lifecycleStage: string;
  /** Every logged value; runs/get shows the latest per key. */
  metrics: Metric[];
  params: Map<string, string>;
  tags: Map<string, string>;
}

interface ExperimentRecord {
  id: string;
  name: string;
  artifactLocation: string;
  created: number;
  tags: Map<string, string>;
}

const API = "/api/2.0/mlflow";
const ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts";
const STATE_FILE = "registry.json";
const STATE_FORMAT = 1;
const RUN_STATUSES = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"];

export class MlflowRegistryError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
const invalid = (message: string) => new MlflowRegistryError(400, "INVALID_PARAMETER_VALUE", message);
const notFound = (message: string) => new MlflowRegistryError(404, "RESOURCE_DOES_NOT_EXIST", message);
const exists = (message: string) => new MlflowRegistryError(400, "RESOURCE_ALREADY_EXISTS", message);

type Params = Record<string, unknown>;
type Handler = (q: Params) => unknown;

/** The demo model's labels: 0 a legitimate transaction, 1 a fraudulent one. */
export const DEMO_CLASS_NAMES = ["legitimate", "fraudulent"];

export class MlflowRegistry {
  /** Every request received, in order. */
  readonly requests: RegistryRequest[] = [];
  url = "";
  private readonly models = new Map<string, ModelRecord>();
  private readonly runs = new Map<string, RunRecord>();
  private readonly experiments = new Map<string, ExperimentRecord>();
  private readonly failures: { prefix: string; status: number; remaining: number }[] = [];
  private readonly store: ArtifactStore;
  private readonly routes: Record<string, Handler>;
  private server?: http.Server;
  private clock = 0;

  constructor(private readonly opts: RegistryOptions = {}) {
    if (opts.dir) {
      mkdirSync(opts.dir, { recursive: true });
      this.store = new DiskArtifactStore(path.join(opts.dir, "artifacts"));
      this.load(path.join(opts.dir, STATE_FILE));
    } else {
      this.store = new MemoryArtifactStore();
    }
    // MLflow's default experiment, which runs without an experiment_id land in.
    if (!this.experiments.has("0")) this.experiments.set("0", { id: "0", name: "Default", artifactLocation: "mlflow-artifacts:/0", created: this.tick(), tags: new Map() });
    this.routes = this.buildRoutes();
  }

  /** `port` 0 picks a free one; a fixed port lets a test start a client first, against a server not up yet. */
  async start(port = 0, host = "127.0.0.1"): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(port, host, resolve);
    });
    const shown = host.includes(":") ? `[${host}]` : host;
    this.url = `http://${shown}:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  /** Creates the registered model if needed; returns the new version number (1, 2, ...). */
  registerVersion(name: string, input: RegistryVersionInput = {}): string {
    const model = this.model(name, true)!;
    const version = String(model.versions.reduce((max, v) => Math.max(max, Number(v.version)), 0) + 1);
    const runId = input.runId ?? `run${version}${name.replace(/\W/g, "")}`.slice(0, 32);
    const artifactPath = `models/${name}/${version}`;
    const v = this.addVersion(model, version, { runId, source: `mlflow-artifacts:/0/${runId}/artifacts/model`, artifactPath, tags: input.tags, description: input.description });
    const files = new Map(Object.entries(input.files ?? {}).map(([p, bytes]) => [normalizeArtifactPath(p), Buffer.from(bytes)]));
    if (this.opts.dir) {
      // The registry outlives the caller's directory: its files become the store's.
      if (input.dir) this.copyDir(input.dir, artifactPath);
      for (const [rel, bytes] of files) this.store.write(`${artifactPath}/${rel}`, bytes);
    } else {
      v.dir = input.dir;
      v.files = files;
    }
    for (const alias of input.aliases ?? []) model.aliases.set(alias, version);
    this.save();
    return version;
  }

  setAlias(name: string, alias: string, version: string): void {
    const model = this.model(name);
    if (!model?.versions.some((v) => v.version === version)) throw new Error(`mlflow-registry: ${name} has no version ${version}`);
    model.aliases.set(alias, version);
    this.save();
  }

  deleteAlias(name: string, alias: string): void {
    this.model(name)?.aliases.delete(alias);
    this.save();
  }

  /** The version an alias points at. */
  alias(name: string, alias: string): string | undefined {
    return this.model(name)?.aliases.get(alias);
  }

  setTag(name: string, version: string, key: string, value: string): void {
    const v = this.version(name, version);
    if (!v) throw new Error(`mlflow-registry: ${name} has no version ${version}`);
    v.tags.set(key, value);
    this.save();
  }

  /** The stored version (tags, files) for assertions. */
  version(name: string, version: string): RegistryVersion | undefined {
    return this.model(name)?.versions.find((v) => v.version === version);
  }

  /** A file in the artifact store (uploaded with PUT, or copied there). */
  uploaded(artifactPath: string): Buffer | undefined {
    return this.store.read(artifactPath);
  }

  /** The next `times` requests whose path starts with `pathPrefix` fail with `status` (MLflow's error body). */
  failNext(pathPrefix: string, status = 503, times = 1): void {
    this.failures.push({ prefix: pathPrefix, status, remaining: times });
  }

  /** Requests whose path starts with `prefix`. */
  calls(prefix: string): RegistryRequest[] {
    return this.requests.filter((r) => r.path.startsWith(prefix));
  }

  /**
   * Registers an MLflow model directory (makeDemoModel's, with its reference_profile.json) as the
   * cluster's training job would, unless the model exists already: an experiment named after the model,
   * a finished run with the ONNX model's accuracy, precision, recall and f1_score on a held-out sample,
   * the directory copied into the run's artifacts, version 1 from it with the ONNX file's `sha256` tag,
   * and the `champion` alias on it.
   */
  async seedDemo({ name, modelDir, alias = "champion" }: { name: string; modelDir: string; alias?: string }): Promise<{ created: boolean; version: string; runId: string }> {
    const existing = this.models.get(name);
    if (existing) {
      const v = existing.aliases.get(alias) ?? existing.versions[existing.versions.length - 1]?.version ?? "";
      return { created: false, version: v, runId: (v && this.version(name, v)?.runId) || "" };
    }
    const sha256 = sha256Of(onnxFileOf(modelDir));
    const metrics = await evaluateOnnxClassifier(modelDir);
    const experiment = [...this.experiments.values()].find((e) => e.name === name) ?? this.createExperiment(name);
    const run = this.createRun(experiment.id, { runName: `${name}-seed`, tags: { "mlflow.source.type": "LOCAL", "mlflow.source.name": "packages/dev-fixtures (seedDemo)" } });
    run.params.set("evaluation_rows", String(HELD_OUT.rows));
    run.params.set("evaluation_seed", String(HELD_OUT.seed));
    const at = this.tick();
    for (const [key, value] of Object.entries(metrics)) run.metrics.push({ key, value, timestamp: at, step: 0 });
    run.status = "FINISHED";
    run.endTime = this.tick();
    const artifactPath = `${runArtifactPath(experiment, run.runId)}/model`;
    this.copyDir(modelDir, artifactPath);

    const model = this.model(name, true)!;
    model.description = "The demo fraud detector (packages/dev-fixtures), registered by the local MLflow stand-in.";
    // What labels 0 and 1 mean, for the platform API's answers (its `class_names` tag).
    model.tags.set("class_names", JSON.stringify(DEMO_CLASS_NAMES));
    model.tags.set("model_type", "classification");
    model.tags.set("algorithm", "logistic_regression");
    const v = this.addVersion(model, "1", { runId: run.runId, source: `mlflow-artifacts:/${artifactPath}`, artifactPath, tags: { sha256 } });
    model.aliases.set(alias, v.version);
    this.save();
    return { created: true, version: v.version, runId: run.runId };
  }

  private addVersion(model: ModelRecord, version: string, v: { runId: string; source: string; artifactPath: string; tags?: Record<string, string>; description?: string }): RegistryVersion {
    const now = this.tick();
    const record: RegistryVersion = {
      name: model.name,
      version,
      files: new Map(),
      tags: new Map(Object.entries(v.tags ?? {})),
      runId: v.runId,
      description: v.description ?? "",
      source: v.source,
      artifactPath: normalizeArtifactPath(v.artifactPath),
      created: now,
      updated: now,
    };
    model.versions.push(record);
    model.updated = now;
    return record;
  }

  private copyDir(dir: string, artifactPath: string): void {
    for (const rel of filesUnder(dir)) this.store.write(`${artifactPath}/${rel}`, readFileSync(path.join(dir, rel)));
  }

  /** Monotonic milliseconds: two changes within one millisecond still order. */
  private tick(): number {
    return (this.clock = Math.max(Date.now(), this.clock + 1));
  }

  private model(name: string, create = false): ModelRecord | undefined {
    let model = this.models.get(name);
    if (!model && create) {
      const now = this.tick();
      model = { name, created: now, updated: now, description: "", tags: new Map(), versions: [], aliases: new Map() };
      this.models.set(name, model);
    }
    return model;
  }

  private createExperiment(name: string, artifactLocation?: string, tags: Record<string, string> = {}): ExperimentRecord {
    const id = String(Math.max(0, ...[...this.experiments.keys()].map(Number)) + 1);
    const experiment = { id, name, artifactLocation: artifactLocation ?? `mlflow-artifacts:/${id}`, created: this.tick(), tags: new Map(Object.entries(tags)) };
    this.experiments.set(id, experiment);
    return experiment;
  }

  private createRun(experimentId: string, opts: { runName?: string; startTime?: number; tags?: Record<string, string> }): RunRecord {
    const runId = randomBytes(16).toString("hex");
    const run: RunRecord = {
      runId,
      experimentId,
      runName: opts.runName ?? `run-${runId.slice(0, 8)}`,
      status: "RUNNING",
      startTime: opts.startTime ?? this.tick(),
      lifecycleStage: "active",
      metrics: [],
      params: new Map(),
      tags: new Map(Object.entries(opts.tags ?? {})),
    };
    run.tags.set("mlflow.runName", run.runName);
    this.runs.set(runId, run);
    return run;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = Date.now();
    const url = new URL(req.url ?? "/", "http://registry");
    const method = req.method ?? "GET";
    const p = url.pathname;
    const send = (status: number, body: unknown) => {
      this.json(res, status, body);
      this.opts.onResponse?.({ method, path: p, status, ms: Date.now() - started });
    };
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    let body: unknown;
    if (raw.length && !(p.startsWith(`${ARTIFACTS}/`) && method === "PUT")) {
      try {
        body = JSON.parse(raw.toString());
      } catch {
        return send(400, { error_code: "MALFORMED_REQUEST", message: "Malformed request body: not JSON" });
      }
    }
    const query = Object.fromEntries(url.searchParams);
    this.requests.push({ method, path: p, query, body, authorization: req.headers.authorization });
    try {
      if (p === "/health" && method === "GET") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("OK");
        this.opts.onResponse?.({ method, path: p, status: 200, ms: Date.now() - started });
        return;
      }
      this.checkAuth(req.headers.authorization);
      const failure = this.failures.find((f) => f.remaining > 0 && p.startsWith(f.prefix));
      if (failure) {
        failure.remaining--;
        throw new MlflowRegistryError(failure.status, failure.status >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST", `injected failure (${failure.status})`);
      }
      // GET carries its parameters in the query string; MLflow's client sends a JSON body for DELETE.
      const params: Params = { ...query, ...(body && typeof body === "object" ? body : {}) };
      if (p === ARTIFACTS || p.startsWith(`${ARTIFACTS}/`)) return this.artifacts(method, p, params, raw, res, send, started);
      const handler = p.startsWith(`${API}/`) ? this.routes[`${method} ${p.slice(API.length)}`] : undefined;
      if (!handler) throw new MlflowRegistryError(404, "ENDPOINT_NOT_FOUND", `No API endpoint ${method} ${p} (this MLflow stand-in serves the routes listed in packages/dev-fixtures/src/mlflow-registry.ts)`);
      const result = handler(params);
      if (method !== "GET") this.save();
      send(200, result);
    } catch (err) {
      if (err instanceof MlflowRegistryError) return send(err.status, { error_code: err.code, message: err.message });
      send(500, { error_code: "INTERNAL_ERROR", message: (err as Error).message });
    }
  }

  private checkAuth(header: string | undefined): void {
    const { basicAuth, bearerToken } = this.opts;
    if (basicAuth) {
      const expected = `Basic ${Buffer.from(`${basicAuth.username}:${basicAuth.password}`).toString("base64")}`;
      if (header !== expected) throw new MlflowRegistryError(401, "UNAUTHENTICATED", "You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.");
    }
    if (bearerToken && header !== `Bearer ${bearerToken}`) throw new MlflowRegistryError(401, "UNAUTHENTICATED", "You are not authenticated.");
  }

  private buildRoutes(): Record<string, Handler> {
    const requireModel = (q: Params) => {
      const name = str(q, "name");
      const m = this.models.get(name);
      if (!m) throw notFound(`Registered Model with name=${name} not found`);
      return m;
    };
    const requireVersion = (q: Params) => {
      const name = str(q, "name");
      const version = str(q, "version");
      const v = this.version(name, version);
      if (!v) throw notFound(`Model Version (name=${name}, version=${version}) not found`);
      return v;
    };
    const requireRun = (q: Params) => {
      const id = q.run_id ?? q.run_uuid;
      if (id === undefined || id === "") throw invalid("Missing value for required parameter 'run_id'.");
      const run = this.runs.get(String(id));
      if (!run) throw notFound(`Run with id=${String(id)} not found`);
      return run;
    };
    const requireExperiment = (id: string) => {
      const e = this.experiments.get(id);
      if (!e) throw notFound(`No Experiment with id=${id} exists`);
      return e;
    };
    const touch = (m: ModelRecord) => (m.updated = this.tick());
    const logMetric = (run: RunRecord, m: Params, where: string) => {
      const value = m.value === "NaN" ? Number.NaN : Number(m.value);
      if (m.value === undefined || m.value === null || (Number.isNaN(value) && m.value !== "NaN")) throw invalid(`Invalid value ${JSON.stringify(m.value)} for parameter '${where}value' supplied: expected a number`);
      run.metrics.push({ key: str(m, "key", where), value, timestamp: int(m, "timestamp", undefined, where), step: int(m, "step", 0, where) });
    };
    const logParam = (run: RunRecord, m: Params, where: string) => {
      const key = str(m, "key", where);
      const value = String(m.value ?? "");
      const old = run.params.get(key);
      if (old !== undefined && old !== value) throw invalid(`Changing param values is not allowed. Param with key='${key}' was already logged with value='${old}' for run ID='${run.runId}'. Attempted logging new value '${value}'.`);
      run.params.set(key, value);
    };

    return {
      "POST /registered-models/create": (q) => {
        const name = str(q, "name");
        if (this.models.has(name)) throw exists(`Registered Model (name=${name}) already exists.`);
        const m = this.model(name, true)!;
        m.description = String(q.description ?? "");
        for (const t of tagList(q.tags, "tags")) m.tags.set(t.key, t.value);
        return { registered_model: this.viewModel(m) };
      },
      "GET /registered-models/get": (q) => ({ registered_model: this.viewModel(requireModel(q)) }),
      "GET /registered-models/search": (q) => {
        const match = nameFilter(String(q.filter ?? ""));
        const sorted = [...this.models.values()].filter((m) => match(m.name)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        const { page, next } = paginate(sorted, q, 100, 1000);
        return { ...(page.length ? { registered_models: page.map((m) => this.viewModel(m)) } : {}), ...next };
      },
      "PATCH /registered-models/update": (q) => {
        const m = requireModel(q);
        if (q.description !== undefined) m.description = String(q.description);
        touch(m);
        return { registered_model: this.viewModel(m) };
      },
      "DELETE /registered-models/delete": (q) => {
        const m = requireModel(q);
        // Files registerVersion placed for the model go with it; a run's artifacts stay, as in MLflow.
        for (const v of m.versions) if (v.artifactPath.startsWith("models/")) this.store.remove(v.artifactPath);
        this.models.delete(m.name);
        return {};
      },
      "POST /registered-models/set-tag": (q) => {
        const m = requireModel(q);
        m.tags.set(str(q, "key"), String(q.value ?? ""));
        touch(m);
        return {};
      },
      "DELETE /registered-models/delete-tag": (q) => {
        const m = requireModel(q);
        m.tags.delete(str(q, "key"));
        touch(m);
        return {};
      },
      "POST /model-versions/create": (q) => {
        const m = requireModel(q);
        const source = str(q, "source");
        const version = String(m.versions.reduce((max, v) => Math.max(max, Number(v.version)), 0) + 1);
        const runId = q.run_id === undefined ? "" : String(q.run_id);
        const tags = Object.fromEntries(tagList(q.tags, "tags").map((t) => [t.key, t.value]));
        const v = this.addVersion(m, version, { runId, source, artifactPath: this.sourcePath(source, runId) ?? `models/${m.name}/${version}`, tags, description: q.description === undefined ? "" : String(q.description) });
        return { model_version: this.view(v) };
      },
      "GET /model-versions/get": (q) => ({ model_version: this.view(requireVersion(q)) }),
      "PATCH /model-versions/update": (q) => {
        const v = requireVersion(q);
        if (q.description !== undefined) v.description = String(q.description);
        v.updated = this.tick();
        return { model_version: this.view(v) };
      },
      "GET /model-versions/search": (q) => {
        const filter = String(q.filter ?? "");
        const m = /^\s*name\s*=\s*'((?:[^'\\]|\\.)*)'\s*$/.exec(filter) ?? /^\s*name\s*=\s*"((?:[^"\\]|\\.)*)"\s*$/.exec(filter);
        if (filter && !m) throw invalid(`Unsupported filter ${JSON.stringify(filter)} for parameter 'filter': this stand-in supports name='<model>'`);
        const all = m ? (this.models.get(m[1].replace(/\\(.)/g, "$1"))?.versions ?? []) : [...this.models.values()].flatMap((x) => x.versions);
        const sorted = [...all].sort((a, b) => b.created - a.created);
        const { page, next } = paginate(sorted, q, 10_000, 200_000);
        return { model_versions: page.map((v) => this.view(v)), ...next };
      },
      "GET /model-versions/get-download-uri": (q) => ({ artifact_uri: `mlflow-artifacts:/${requireVersion(q).artifactPath}` }),
      "POST /model-versions/set-tag": (q) => {
        const v = requireVersion(q);
        v.tags.set(str(q, "key"), String(q.value ?? ""));
        v.updated = this.tick();
        return {};
      },
      "DELETE /model-versions/delete-tag": (q) => {
        requireVersion(q).tags.delete(str(q, "key"));
        return {};
      },
      "POST /registered-models/alias": (q) => {
        const m = requireModel(q);
        const version = str(q, "version");
        if (!m.versions.some((v) => v.version === version)) throw notFound(`Model Version (name=${m.name}, version=${version}) not found`);
        m.aliases.set(str(q, "alias"), version);
        touch(m);
        return {};
      },
      "DELETE /registered-models/alias": (q) => {
        const m = requireModel(q);
        m.aliases.delete(str(q, "alias"));
        touch(m);
        return {};
      },
      "GET /registered-models/alias": (q) => {
        const m = requireModel(q);
        const alias = str(q, "alias");
        const version = m.aliases.get(alias);
        if (version === undefined) throw notFound(`Registered model alias ${alias} not found.`);
        return { model_version: this.view(this.version(m.name, version)!) };
      },

      "POST /experiments/create": (q) => {
        const name = str(q, "name");
        if ([...this.experiments.values()].some((e) => e.name === name)) throw exists(`Experiment '${name}' already exists.`);
        const tags = Object.fromEntries(tagList(q.tags, "tags").map((t) => [t.key, t.value]));
        return { experiment_id: this.createExperiment(name, q.artifact_location ? String(q.artifact_location) : undefined, tags).id };
      },
      "GET /experiments/get": (q) => ({ experiment: viewExperiment(requireExperiment(str(q, "experiment_id"))) }),
      "GET /experiments/get-by-name": (q) => {
        const name = str(q, "experiment_name");
        const e = [...this.experiments.values()].find((x) => x.name === name);
        if (!e) throw notFound(`Could not find experiment with name ${name}`);
        return { experiment: viewExperiment(e) };
      },
      "POST /runs/create": (q) => {
        const experiment = requireExperiment(q.experiment_id === undefined ? "0" : String(q.experiment_id));
        const tags = Object.fromEntries(tagList(q.tags, "tags").map((t) => [t.key, t.value]));
        const startTime = q.start_time === undefined ? undefined : int(q, "start_time");
        return { run: this.viewRun(this.createRun(experiment.id, { runName: q.run_name ? String(q.run_name) : tags["mlflow.runName"], startTime, tags })) };
      },
      "GET /runs/get": (q) => ({ run: this.viewRun(requireRun(q)) }),
      "POST /runs/update": (q) => {
        const run = requireRun(q);
        if (q.status !== undefined) {
          if (!RUN_STATUSES.includes(String(q.status))) throw invalid(`Invalid value ${JSON.stringify(q.status)} for parameter 'status': expected one of ${RUN_STATUSES.join(", ")}`);
          run.status = String(q.status);
        }
        if (q.end_time !== undefined) run.endTime = int(q, "end_time");
        if (q.run_name) {
          run.runName = String(q.run_name);
          run.tags.set("mlflow.runName", run.runName);
        }
        return { run_info: this.viewRun(run).info };
      },
      "POST /runs/log-metric": (q) => {
        logMetric(requireRun(q), q, "");
        return {};
      },
      "POST /runs/log-parameter": (q) => {
        logParam(requireRun(q), q, "");
        return {};
      },
      "POST /runs/set-tag": (q) => {
        requireRun(q).tags.set(str(q, "key"), String(q.value ?? ""));
        return {};
      },
      "POST /runs/log-batch": (q) => {
        const run = requireRun(q);
        listOf(q.metrics, "metrics").forEach((m, i) => logMetric(run, m, `metrics[${i}].`));
        listOf(q.params, "params").forEach((m, i) => logParam(run, m, `params[${i}].`));
        for (const t of tagList(q.tags, "tags")) run.tags.set(t.key, t.value);
        return {};
      },
    };
  }

  /** The artifact path a version's source names, when the proxy serves it (`mlflow-artifacts:` or `runs:/<id>/<path>`). */
  private sourcePath(source: string, runId: string): string | undefined {
    const proxied = /^mlflow-artifacts:(?:\/\/[^/]*)?\/*(.*)$/.exec(source);
    if (proxied) return normalizeArtifactPath(proxied[1]);
    const fromRun = /^runs:\/([^/]+)\/(.*)$/.exec(source);
    const run = fromRun && this.runs.get(fromRun[1] || runId);
    if (run) return normalizeArtifactPath(`${runArtifactPath(this.experiments.get(run.experimentId)!, run.runId)}/${fromRun![2]}`);
    return undefined;
  }

  private artifacts(method: string, p: string, q: Params, raw: Buffer, res: http.ServerResponse, send: (status: number, body: unknown) => void, started: number): void {
    if (p === ARTIFACTS && method === "GET") {
      const entries = this.list(safePath(String(q.path ?? "")));
      return send(200, entries.length ? { files: entries } : {});
    }
    const rel = safePath(decodeURIComponent(p.slice(ARTIFACTS.length + 1)));
    if (method === "PUT") {
      this.store.write(rel, raw);
      return send(200, {});
    }
    if (method !== "GET") throw new MlflowRegistryError(405, "METHOD_NOT_ALLOWED", `${method} is not allowed on ${p}`);
    const file = this.read(rel);
    if (!file) throw notFound(`File ${rel} not found`);
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": file.length });
    res.end(file);
    this.opts.onResponse?.({ method, path: p, status: 200, ms: Date.now() - started });
  }

  /** The in-memory version whose files (overlay on `dir`) lie under `artifactPath`, and the path inside it. */
  private overlay(artifactPath: string): { v: RegistryVersion; rest: string } | undefined {
    for (const m of this.models.values()) {
      for (const v of m.versions) {
        if (!v.dir && v.files.size === 0) continue;
        if (artifactPath === v.artifactPath) return { v, rest: "" };
        if (artifactPath.startsWith(`${v.artifactPath}/`)) return { v, rest: artifactPath.slice(v.artifactPath.length + 1) };
      }
    }
    return undefined;
  }

  private read(artifactPath: string): Buffer | undefined {
    const stored = this.store.read(artifactPath);
    if (stored) return stored;
    const found = this.overlay(artifactPath);
    if (!found) return undefined;
    const inMemory = found.v.files.get(found.rest);
    if (inMemory) return inMemory;
    if (!found.v.dir) return undefined;
    try {
      const full = path.join(found.v.dir, found.rest);
      return statSync(full).isFile() ? readFileSync(full) : undefined;
    } catch {
      return undefined;
    }
  }

  private list(dir: string): ArtifactEntry[] {
    const entries = new Map(this.store.list(dir).map((e) => [e.path, e]));
    const found = this.overlay(dir);
    if (found) {
      const prefix = found.rest ? `${found.rest}/` : "";
      if (found.v.dir) {
        try {
          for (const f of readdirSync(path.join(found.v.dir, found.rest))) {
            const st = statSync(path.join(found.v.dir, found.rest, f));
            entries.set(f, st.isDirectory() ? { path: f, is_dir: true } : { path: f, is_dir: false, file_size: st.size });
          }
        } catch {
          // no such directory on disk: only in-memory files
        }
      }
      for (const [file, bytes] of found.v.files) {
        if (!file.startsWith(prefix)) continue;
        const [head, ...more] = file.slice(prefix.length).split("/");
        entries.set(head, more.length ? { path: head, is_dir: true } : { path: head, is_dir: false, file_size: bytes.length });
      }
    }
    return [...entries.values()].sort((a, b) => a.path.localeCompare(b.path));
  }

  private view(v: RegistryVersion) {
    const aliases = [...(this.models.get(v.name)?.aliases.entries() ?? [])].filter(([, ver]) => ver === v.version).map(([a]) => a);
    return {
      name: v.name,
      version: v.version,
      creation_timestamp: v.created,
      last_updated_timestamp: v.updated,
      current_stage: "None",
      description: v.description,
      source: v.source,
      run_id: v.runId,
      status: "READY",
      tags: [...v.tags].map(([key, value]) => ({ key, value })),
      aliases,
    };
  }

  private viewModel(m: ModelRecord) {
    const latest = m.versions[m.versions.length - 1];
    return {
      name: m.name,
      creation_timestamp: m.created,
      last_updated_timestamp: Math.max(m.updated, latest?.updated ?? 0),
      description: m.description,
      latest_versions: latest ? [this.view(latest)] : [],
      tags: [...m.tags].map(([key, value]) => ({ key, value })),
      aliases: [...m.aliases].map(([alias, version]) => ({ alias, version })),
    };
  }

  private viewRun(run: RunRecord) {
    // MLflow's latest value of a metric: the highest step, then the latest timestamp, then the largest value.
    const latest = new Map<string, Metric>();
    for (const m of run.metrics) {
      const cur = latest.get(m.key);
      if (!cur || m.step > cur.step || (m.step === cur.step && (m.timestamp > cur.timestamp || (m.timestamp === cur.timestamp && m.value > cur.value)))) latest.set(m.key, m);
    }
    const experiment = this.experiments.get(run.experimentId)!;
    return {
      info: {
        run_id: run.runId,
        run_uuid: run.runId,
        run_name: run.runName,
        experiment_id: run.experimentId,
        status: run.status,
        start_time: run.startTime,
        ...(run.endTime !== undefined ? { end_time: run.endTime } : {}),
        artifact_uri: `mlflow-artifacts:/${runArtifactPath(experiment, run.runId)}`,
        lifecycle_stage: run.lifecycleStage,
      },
      data: {
        metrics: [...latest.values()].map(({ key, value, timestamp, step }) => ({ key, value: Number.isNaN(value) ? "NaN" : value, timestamp, step })),
        params: [...run.params].map(([key, value]) => ({ key, value })),
        tags: [...run.tags].map(([key, value]) => ({ key, value })),
      },
    };
  }

  private json(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  }

  /** Written to a temporary file and renamed: a crash mid-write leaves the previous state, never half of one. */
  private save(): void {
    if (!this.opts.dir) return;
    const state: PersistedState = {
      format: STATE_FORMAT,
      clock: this.clock,
      experiments: [...this.experiments.values()].map((e) => ({ ...e, tags: Object.fromEntries(e.tags) })),
      runs: [...this.runs.values()].map((r) => ({ ...r, params: Object.fromEntries(r.params), tags: Object.fromEntries(r.tags) })),
      models: [...this.models.values()].map((m) => ({
        name: m.name,
        created: m.created,
        updated: m.updated,
        description: m.description,
        tags: Object.fromEntries(m.tags),
        aliases: Object.fromEntries(m.aliases),
        versions: m.versions.map((v) => ({ version: v.version, tags: Object.fromEntries(v.tags), runId: v.runId, description: v.description, source: v.source, artifactPath: v.artifactPath, created: v.created, updated: v.updated })),
      })),
    };
    const file = path.join(this.opts.dir, STATE_FILE);
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, `${JSON.stringify(state, null, 1)}\n`);
    renameSync(partial, file);
  }

  private load(file: string): void {
    if (!existsSync(file)) return;
    let state: PersistedState;
    try {
      state = JSON.parse(readFileSync(file, "utf8")) as PersistedState;
    } catch (err) {
      throw new Error(`the MLflow stand-in's state ${file} is not valid JSON (${(err as Error).message}); move it away to start with an empty registry`);
    }
    if (state?.format !== STATE_FORMAT) throw new Error(`the MLflow stand-in's state ${file} has format ${JSON.stringify(state?.format)}, expected ${STATE_FORMAT}; move it away to start with an empty registry`);
    this.clock = state.clock;
    for (const e of state.experiments) this.experiments.set(e.id, { ...e, tags: new Map(Object.entries(e.tags)) });
    for (const r of state.runs) this.runs.set(r.runId, { ...r, params: new Map(Object.entries(r.params)), tags: new Map(Object.entries(r.tags)) });
    for (const m of state.models) {
      this.models.set(m.name, {
        name: m.name,
        created: m.created,
        updated: m.updated,
        description: m.description,
        tags: new Map(Object.entries(m.tags)),
        aliases: new Map(Object.entries(m.aliases)),
        versions: m.versions.map((v) => ({ ...v, name: m.name, tags: new Map(Object.entries(v.tags)), files: new Map() })),
      });
    }
  }
}

interface PersistedState {
  format: number;
  clock: number;
  experiments: (Omit<ExperimentRecord, "tags"> & { tags: Record<string, string> })[];
  runs: (Omit<RunRecord, "params" | "tags"> & { params: Record<string, string>; tags: Record<string, string> })[];
  models: {
    name: string;
    created: number;
    updated: number;
    description: string;
    tags: Record<string, string>;
    aliases: Record<string, string>;
    versions: (Omit<RegistryVersion, "name" | "tags" | "files" | "dir"> & { tags: Record<string, string> })[];
  }[];
}

/** A run's artifact root inside the proxy: `<experiment's location>/<run id>/artifacts`. */
function runArtifactPath(experiment: ExperimentRecord, runId: string): string {
  const base = /^mlflow-artifacts:(?:\/\/[^/]*)?\/*(.*)$/.exec(experiment.artifactLocation)?.[1] ?? experiment.id;
  return normalizeArtifactPath(`${base}/${runId}/artifacts`);
}

function viewExperiment(e: ExperimentRecord) {
  return {
    experiment_id: e.id,
    name: e.name,
    artifact_location: e.artifactLocation,
    lifecycle_stage: "active",
    creation_time: e.created,
    last_update_time: e.created,
    tags: [...e.tags].map(([key, value]) => ({ key, value })),
  };
}

function str(q: Params, key: string, where = ""): string {
  const v = q[key];
  if (v === undefined || v === null || v === "") throw invalid(`Missing value for required parameter '${where}${key}'.`);
  if (typeof v === "object") throw invalid(`Invalid value ${JSON.stringify(v)} for parameter '${where}${key}' supplied: expected a string`);
  return String(v);
}

function int(q: Params, key: string, fallback?: number, where = ""): number {
  const v = q[key];
  if (v === undefined || v === null || v === "") {
    if (fallback !== undefined) return fallback;
    throw invalid(`Missing value for required parameter '${where}${key}'.`);
  }
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw invalid(`Invalid value ${JSON.stringify(v)} for parameter '${where}${key}' supplied: expected an integer`);
  return n;
}

function listOf(v: unknown, key: string): Params[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => !x || typeof x !== "object")) throw invalid(`Invalid value ${JSON.stringify(v)} for parameter '${key}' supplied: expected a list of objects`);
  return v as Params[];
}

function tagList(v: unknown, key: string): { key: string; value: string }[] {
  return listOf(v, key).map((t, i) => ({ key: str(t, "key", `${key}[${i}].`), value: String(t.value ?? "") }));
}

/** An artifact path from a request: `..` is refused, naming it. */
function safePath(p: string): string {
  try {
    return normalizeArtifactPath(p);
  } catch {
    throw invalid(`Invalid path: ${p}`);
  }
}

/**
 * `name = 'x'`, `name LIKE '%x%'` or `name ILIKE '%x%'` (SQL patterns: % any run, _ one character), as
 * MLflow's search_registered_models accepts them; anything else is refused, naming the filter.
 */
function nameFilter(filter: string): (name: string) => boolean {
  if (!filter.trim()) return () => true;
  const m = /^\s*name\s*(=|!=|LIKE|ILIKE)\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*$/i.exec(filter);
  if (!m) throw invalid(`Invalid filter ${JSON.stringify(filter)} for parameter 'filter': expected name = '<name>', name LIKE '<pattern>' or name ILIKE '<pattern>'`);
  const op = m[1].toUpperCase();
  const value = (m[2] ?? m[3]).replace(/\\(.)/g, "$1");
  if (op === "=") return (name) => name === value;
  if (op === "!=") return (name) => name !== value;
  const pattern = value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/%/g, ".*").replace(/_/g, ".");
  const re = new RegExp(`^${pattern}$`, op === "ILIKE" ? "is" : "s");
  return (name) => re.test(name);
}

/** MLflow's paging: `max_results` per page, an opaque `page_token` for the next one (here: the offset). */
function paginate<T>(items: T[], q: Params, byDefault: number, max: number): { page: T[]; next: { next_page_token?: string } } {
  const size = q.max_results === undefined || q.max_results === "" ? byDefault : Number(q.max_results);
  if (!Number.isInteger(size) || size < 1 || size > max) throw invalid(`Invalid value ${JSON.stringify(q.max_results)} for parameter 'max_results' supplied: expected an integer between 1 and ${max}`);
  let start = 0;
  if (q.page_token) {
    const decoded = Number(q.page_token);
    if (!Number.isInteger(decoded) || decoded < 0) throw invalid(`Invalid value ${JSON.stringify(q.page_token)} for parameter 'page_token' supplied: not a token this server issued`);
    start = decoded;
  }
  const page = items.slice(start, start + size);
  return { page, next: start + size < items.length ? { next_page_token: String(start + size) } : {} };
}
