import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** What an MLflow model version looks like in the REST API (`ModelVersion`). */
export interface ModelVersion {
  name: string;
  version: string;
  source?: string;
  run_id?: string;
  status?: string;
  aliases?: string[];
  tags?: { key: string; value: string }[];
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  description?: string;
}

/** A registered model in the REST API (`RegisteredModel`); `aliases` as MLflow 2.3+ returns them. */
export interface RegisteredModel {
  name: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  description?: string;
  latest_versions?: ModelVersion[];
  tags?: { key: string; value: string }[];
  aliases?: { alias: string; version: string }[];
}

/** A tracking run (`Run`): metrics carry the latest value per key. */
export interface Run {
  info: { run_id: string; experiment_id: string; status?: string; start_time?: number; end_time?: number; artifact_uri?: string };
  data: {
    metrics?: { key: string; value: number; timestamp: number; step: number }[];
    params?: { key: string; value: string }[];
    tags?: { key: string; value: string }[];
  };
}

const REGISTRY = "/api/2.0/mlflow";
/** MLflow's `{key, value}` list from a plain object. */
const tagList = (tags?: Record<string, string>) => (tags ? Object.entries(tags).map(([key, value]) => ({ key, value })) : undefined);

/** A parsed `models:/<name>@<alias>` or `models:/<name>/<version>` URI. */
export type ModelRef = { name: string; alias: string; version?: undefined } | { name: string; version: string; alias?: undefined };

export function parseModelUri(uri: string): ModelRef {
  const m = /^models:\/([^/@]+)(?:@([A-Za-z0-9_-]+)|\/(\d+))$/.exec(uri);
  if (!m) {
    throw new Error(`"${uri}" is not a registry model URI; expected models:/<name>@<alias> or models:/<name>/<version>`);
  }
  return m[2] ? { name: decodeURIComponent(m[1]), alias: m[2] } : { name: decodeURIComponent(m[1]), version: m[3] };
}

export class MlflowError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly errorCode?: string,
  ) {
    super(message);
    this.name = "MlflowError";
  }
}

export interface MlflowAuth {
  username?: string;
  password?: string;
  token?: string;
}

/** MLflow's own client variables: MLFLOW_TRACKING_USERNAME/PASSWORD (basic auth) or MLFLOW_TRACKING_TOKEN. */
export function mlflowAuthFromEnv(env: NodeJS.ProcessEnv = process.env): MlflowAuth {
  return { username: env.MLFLOW_TRACKING_USERNAME, password: env.MLFLOW_TRACKING_PASSWORD, token: env.MLFLOW_TRACKING_TOKEN };
}

/**
 * The slice of MLflow's REST API the platform uses: the model registry (aliases, versions) and the
 * artifact proxy (`mlflow-artifacts:`), so no service but MLflow itself needs cloud credentials.
 */
export class MlflowClient {
  private readonly base: string;
  private readonly authHeader?: string;

  constructor(
    trackingUri: string,
    auth: MlflowAuth = {},
    private readonly timeoutMs = 30_000,
  ) {
    this.base = trackingUri.replace(/\/+$/, "");
    if (auth.token) this.authHeader = `Bearer ${auth.token}`;
    else if (auth.username) this.authHeader = `Basic ${Buffer.from(`${auth.username}:${auth.password ?? ""}`).toString("base64")}`;
  }

  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    const body = await this.getJson<{ model_version: ModelVersion }>("/api/2.0/mlflow/registered-models/alias", { name, alias });
    return body.model_version;
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion> {
    const body = await this.getJson<{ model_version: ModelVersion }>("/api/2.0/mlflow/model-versions/get", { name, version });
    return body.model_version;
  }

  async resolve(ref: ModelRef): Promise<ModelVersion> {
    return ref.alias !== undefined ? this.getModelVersionByAlias(ref.name, ref.alias) : this.getModelVersion(ref.name, ref.version);
  }

  /** All versions of a registered model, newest first. */
  async listModelVersions(name: string): Promise<ModelVersion[]> {
    const versions: ModelVersion[] = [];
    let pageToken: string | undefined;
    do {
      const query: Record<string, string> = { filter: `name='${name.replace(/'/g, "\\'")}'`, max_results: "200" };
      if (pageToken) query.page_token = pageToken;
      const body = await this.getJson<{ model_versions?: ModelVersion[]; next_page_token?: string }>("/api/2.0/mlflow/model-versions/search", query);
      versions.push(...(body.model_versions ?? []));
      pageToken = body.next_page_token || undefined;
    } while (pageToken);
    return versions.sort((a, b) => Number(b.version) - Number(a.version));
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.request("POST", "/api/2.0/mlflow/registered-models/alias", undefined, { name, alias, version });
  }

  /** Removes an alias from a registered model (`DELETE registered-models/alias`, parameters in a JSON body as MLflow's own client sends them). */
  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.request("DELETE", "/api/2.0/mlflow/registered-models/alias", undefined, { name, alias });
  }

  /** Every registered model, by name (`GET registered-models/search`, followed page by page). */
  async listRegisteredModels(): Promise<RegisteredModel[]> {
    const models: RegisteredModel[] = [];
    let pageToken: string | undefined;
    do {
      const query: Record<string, string> = { max_results: "200" };
      if (pageToken) query.page_token = pageToken;
      const body = await this.getJson<{ registered_models?: RegisteredModel[]; next_page_token?: string }>(`${REGISTRY}/registered-models/search`, query);
      models.push(...(body.registered_models ?? []));
      pageToken = body.next_page_token || undefined;
    } while (pageToken);
    return models;
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    return (await this.getJson<{ registered_model: RegisteredModel }>(`${REGISTRY}/registered-models/get`, { name })).registered_model;
  }

  /** Fails with status 400 and errorCode RESOURCE_ALREADY_EXISTS when the name is taken. */
  async createRegisteredModel(name: string, opts: { description?: string; tags?: Record<string, string> } = {}): Promise<RegisteredModel> {
    const body = await this.sendJson<{ registered_model: RegisteredModel }>("POST", `${REGISTRY}/registered-models/create`, { name, description: opts.description, tags: tagList(opts.tags) });
    return body.registered_model;
  }

  async updateRegisteredModel(name: string, description: string): Promise<void> {
    await this.request("PATCH", `${REGISTRY}/registered-models/update`, undefined, { name, description });
  }

  /** Deletes the model and all its versions. */
  async deleteRegisteredModel(name: string): Promise<void> {
    await this.request("DELETE", `${REGISTRY}/registered-models/delete`, undefined, { name });
  }

  async setRegisteredModelTag(name: string, key: string, value: string): Promise<void> {
    await this.request("POST", `${REGISTRY}/registered-models/set-tag`, undefined, { name, key, value });
  }

  async deleteRegisteredModelTag(name: string, key: string): Promise<void> {
    await this.request("DELETE", `${REGISTRY}/registered-models/delete-tag`, undefined, { name, key });
  }

  async setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    await this.request("POST", `${REGISTRY}/model-versions/set-tag`, undefined, { name, version, key, value });
  }

  /** A new version of a registered model from `source` (e.g. `mlflow-artifacts:/1/<run>/artifacts/model` or `runs:/<run>/model`). */
  async createModelVersion(name: string, source: string, opts: { runId?: string; tags?: Record<string, string>; description?: string } = {}): Promise<ModelVersion> {
    const body = await this.sendJson<{ model_version: ModelVersion }>("POST", `${REGISTRY}/model-versions/create`, { name, source, run_id: opts.runId, tags: tagList(opts.tags), description: opts.description });
    return body.model_version;
  }

  /** A run with its params, tags and the latest value of each metric (a version's `run_id` names it). */
  async getRun(runId: string): Promise<Run> {
    return (await this.getJson<{ run: Run }>(`${REGISTRY}/runs/get`, { run_id: runId })).run;
  }

  async getDownloadUri(name: string, version: string): Promise<string> {
    const body = await this.getJson<{ artifact_uri: string }>("/api/2.0/mlflow/model-versions/get-download-uri", { name, version });
    return body.artifact_uri;
  }

  /** Downloads every file of a model version's artifact directory into `destDir`. */
  async downloadModelVersion(name: string, version: string, destDir: string): Promise<string[]> {
    const artifactUri = await this.getDownloadUri(name, version);
    return this.downloadArtifacts(artifactUri, destDir);
  }

  /** `mlflow-artifacts:/path` (the proxy) or `file:///path`; other schemes need cloud credentials and are refused. */
  async downloadArtifacts(artifactUri: string, destDir: string): Promise<string[]> {
    if (artifactUri.startsWith("file:")) return [fileURLToPath(artifactUri)];
    const root = proxiedArtifactPath(artifactUri);
    const files = await this.listArtifactFiles(root);
    const written: string[] = [];
    for (const file of files) {
      const relative = file.slice(root.length).replace(/^\/+/, "");
      const target = path.resolve(destDir, relative);
      if (!target.startsWith(path.resolve(destDir) + path.sep)) throw new Error(`artifact path "${file}" escapes the download directory`);
      const res = await this.request("GET", `/api/2.0/mlflow-artifacts/artifacts/${encodePath(file)}`);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, Buffer.from(await res.arrayBuffer()));
      written.push(target);
    }
    return written;
  }

  /**
   * Reads one file of an artifact directory, e.g. `reference_profile.json` next to a model version's
   * files: through the `mlflow-artifacts:` proxy, or from disk for `file:` URIs.
   */
  async readArtifact(artifactUri: string, relativePath: string): Promise<Buffer> {
    const rel = relativePath.replace(/^\/+/, "");
    if (rel.split("/").includes("..")) throw new Error(`artifact path "${relativePath}" may not contain ".."`);
    if (artifactUri.startsWith("file:")) return readFile(path.join(fileURLToPath(artifactUri), rel));
    const file = `${proxiedArtifactPath(artifactUri)}/${rel}`;
    const res = await this.request("GET", `/api/2.0/mlflow-artifacts/artifacts/${encodePath(file)}`);
    return Buffer.from(await res.arrayBuffer());
  }

  private async listArtifactFiles(dir: string): Promise<string[]> {
    const body = await this.getJson<{ files?: { path: string; is_dir: boolean }[] }>("/api/2.0/mlflow-artifacts/artifacts", { path: dir });
    const out: string[] = [];
    for (const entry of body.files ?? []) {
      const full = `${dir}/${entry.path}`.replace(/\/+/g, "/");
      if (entry.is_dir) out.push(...(await this.listArtifactFiles(full)));
      else out.push(full);
    }
    return out;
  }

  private async getJson<T>(route: string, query: Record<string, string>): Promise<T> {
    const res = await this.request("GET", route, query);
    return (await res.json()) as T;
  }

  private async sendJson<T>(method: string, route: string, body: unknown): Promise<T> {
    const res = await this.request(method, route, undefined, body);
    return (await res.json()) as T;
  }

  private async request(method: string, route: string, query?: Record<string, string>, body?: unknown): Promise<Response> {
    const url = `${this.base}${route}${query ? `?${new URLSearchParams(query)}` : ""}`;
    const headers: Record<string, string> = {};
    if (this.authHeader) headers.authorization = this.authHeader;
    if (body !== undefined) headers["content-type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new MlflowError(`MLflow at ${this.base} is unreachable (${method} ${route}): ${(err as Error).message}`, 0);
    }
    if (!res.ok) {
      const text = await res.text();
      let code: string | undefined;
      let message = text;
      try {
        const parsed = JSON.parse(text) as { error_code?: string; message?: string };
        code = parsed.error_code;
        message = parsed.message ?? text;
      } catch {
        /* not JSON: keep the text */
      }
      throw new MlflowError(`MLflow ${method} ${route} failed with ${res.status}${code ? ` ${code}` : ""}: ${message}`, res.status, code);
    }
    return res;
  }
}

/** `mlflow-artifacts:/1/abc/artifacts/model` or `mlflow-artifacts://host:5000/1/...` -> `1/abc/artifacts/model`. */
export function proxiedArtifactPath(uri: string): string {
  const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/*(.*)$/.exec(uri);
  if (!m) {
    throw new Error(`artifact URI "${uri}" is not served by MLflow's artifact proxy (mlflow-artifacts:); run the server with --serve-artifacts`);
  }
  return m[1].replace(/\/+$/, "");
}

function encodePath(p: string): string {
  return p.split("/").map(encodeURIComponent).join("/");
}
