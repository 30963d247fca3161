/**
 * A local stand-in for an MLflow tracking server: the model registry and the artifact proxy
 * (`mlflow server --serve-artifacts`), with MLflow's REST routes, parameters, response shapes and error
 * bodies (`{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "..."}`), as documented at
 * https://mlflow.org/docs/latest/rest-api.html. For tests of anything that talks to MLflow.
 *
 * Registry (`/api/2.0/mlflow/...`):
 *   POST   registered-models/create        {name, description?, tags?}            -> {registered_model}
 *   GET    registered-models/get           ?name                                  -> {registered_model}
 *   POST   model-versions/create           {name, source, run_id?, tags?}         -> {model_version}
 *   GET    model-versions/get              ?name&version                          -> {model_version}
 *   GET    model-versions/search           ?filter=name='x'&max_results&page_token -> {model_versions, next_page_token?}
 *   GET    model-versions/get-download-uri ?name&version                          -> {artifact_uri: "mlflow-artifacts:/..."}
 *   POST   model-versions/set-tag          {name, version, key, value}            -> {}
 *   DELETE model-versions/delete-tag       {name, version, key} (body or query)   -> {}
 *   POST   registered-models/alias         {name, alias, version}                 -> {}
 *   DELETE registered-models/alias         {name, alias} (body or query)          -> {}
 *   GET    registered-models/alias         ?name&alias                            -> {model_version}
 * Artifact proxy (`/api/2.0/mlflow-artifacts/artifacts`):
 *   GET    ?path=<dir>                     -> {files: [{path (base name), is_dir, file_size}]} ({} when empty)
 *   GET    /<path>                         -> the file's bytes
 *   PUT    /<path>                         -> stores the body as that file
 *
 * Usage:
 *
 *   const stub = new MlflowStub({ basicAuth: { username: "u", password: "p" } });
 *   await stub.start();                                   // stub.url = http://127.0.0.1:<port> (or start(port))
 *   const v = stub.registerVersion("fraud", { dir: modelDir, tags: { sha256 }, aliases: ["champion"] });
 *   stub.setAlias("fraud", "challenger", v);
 *   stub.failNext("/api/2.0/mlflow/registered-models/alias", 503);   // one injected failure
 *   stub.requests                                          // every call, in order
 *   await stub.stop();
 *
 * A version's files come from a directory on disk (`dir`, read at request time, so tests may change
 * them) and/or in-memory `files`; they are served under `mlflow-artifacts:/models/<name>/<version>`.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

export interface StubVersionInput {
  /** A directory whose files are the version's artifacts. */
  dir?: string;
  /** In-memory artifacts, by relative path (`MLmodel`, `sub/file.json`); they shadow files of `dir`. */
  files?: Record<string, string | Uint8Array>;
  tags?: Record<string, string>;
  aliases?: string[];
  runId?: string;
  description?: string;
}

export interface StubVersion {
  name: string;
  version: string;
  dir?: string;
  files: Map<string, Buffer>;
  tags: Map<string, string>;
  runId: string;
  description: string;
  source: string;
  created: number;
  updated: number;
}

export interface StubRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: unknown;
  authorization?: string;
}

export interface StubOptions {
  /** Refuse calls without these credentials (401), as MLflow's basic-auth app does. */
  basicAuth?: { username: string; password: string };
  /** Or refuse calls without `Authorization: Bearer <token>`. */
  bearerToken?: string;
}

const API = "/api/2.0/mlflow";
const ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts";

class StubError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class MlflowStub {
  /** Every request received, in order. */
  readonly requests: StubRequest[] = [];
  url = "";
  private readonly models = new Map<string, { created: number; description: string; tags: Map<string, string>; versions: StubVersion[]; aliases: Map<string, string> }>();
  private readonly failures: { prefix: string; status: number; remaining: number }[] = [];
  private readonly uploads = new Map<string, Buffer>();
  private server?: http.Server;
  private clock = 1_700_000_000_000;

  constructor(private readonly opts: StubOptions = {}) {}

  /** `port` 0 picks a free one; a fixed port lets a test start a client first, against a server not up yet. */
  async start(port = 0): Promise<string> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(port, "127.0.0.1", resolve);
    });
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  /** Creates the registered model if needed; returns the new version number (1, 2, ...). */
  registerVersion(name: string, input: StubVersionInput = {}): string {
    const model = this.model(name, true)!;
    const version = String(model.versions.length + 1);
    const now = this.tick();
    const files = new Map(Object.entries(input.files ?? {}).map(([p, v]) => [p.replace(/^\/+/, ""), Buffer.from(v)]));
    const runId = input.runId ?? `run${version}${name.replace(/\W/g, "")}`.slice(0, 32);
    model.versions.push({
      name,
      version,
      dir: input.dir,
      files,
      tags: new Map(Object.entries(input.tags ?? {})),
      runId,
      description: input.description ?? "",
      source: `mlflow-artifacts:/0/${runId}/artifacts/model`,
      created: now,
      updated: now,
    });
    for (const alias of input.aliases ?? []) this.setAlias(name, alias, version);
    return version;
  }

  setAlias(name: string, alias: string, version: string): void {
    const model = this.model(name);
    if (!model?.versions.some((v) => v.version === version)) throw new Error(`stub: ${name} has no version ${version}`);
    model.aliases.set(alias, version);
  }

  deleteAlias(name: string, alias: string): void {
    this.model(name)?.aliases.delete(alias);
  }

  /** The version an alias points at. */
  alias(name: string, alias: string): string | undefined {
    return this.model(name)?.aliases.get(alias);
  }

  setTag(name: string, version: string, key: string, value: string): void {
    const v = this.version(name, version);
    if (!v) throw new Error(`stub: ${name} has no version ${version}`);
    v.tags.set(key, value);
  }

  /** The stored version (tags, files) for assertions. */
  version(name: string, version: string): StubVersion | undefined {
    return this.model(name)?.versions.find((v) => v.version === version);
  }

  /** A file uploaded with PUT through the artifact proxy. */
  uploaded(artifactPath: string): Buffer | undefined {
    return this.uploads.get(artifactPath.replace(/^\/+/, ""));
  }

  /** The next `times` requests whose path starts with `pathPrefix` fail with `status` (MLflow's error body). */
  failNext(pathPrefix: string, status = 503, times = 1): void {
    this.failures.push({ prefix: pathPrefix, status, remaining: times });
  }

  /** Requests whose path starts with `prefix`. */
  calls(prefix: string): StubRequest[] {
    return this.requests.filter((r) => r.path.startsWith(prefix));
  }

  private tick(): number {
    return (this.clock += 1000);
  }

  private model(name: string, create = false) {
    let model = this.models.get(name);
    if (!model && create) {
      model = { created: this.tick(), description: "", tags: new Map(), versions: [], aliases: new Map() };
      this.models.set(name, model);
    }
    return model;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://stub");
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const p = url.pathname;
    let body: unknown;
    if (raw.length && !(p.startsWith(`${ARTIFACTS}/`) && req.method === "PUT")) {
      try {
        body = JSON.parse(raw.toString());
      } catch {
        return this.json(res, 400, { error_code: "MALFORMED_REQUEST", message: "Malformed request body: not JSON" });
      }
    }
    const query = Object.fromEntries(url.searchParams);
    this.requests.push({ method: req.method ?? "GET", path: p, query, body, authorization: req.headers.authorization });
    try {
      this.checkAuth(req.headers.authorization);
      const failure = this.failures.find((f) => f.remaining > 0 && p.startsWith(f.prefix));
      if (failure) {
        failure.remaining--;
        throw new StubError(failure.status, failure.status >= 500 ? "INTERNAL_ERROR" : "BAD_REQUEST", `injected failure (${failure.status})`);
      }
      // GET and DELETE carry their parameters in the query string; MLflow's client sends a JSON body for DELETE.
      const params: Record<string, unknown> = { ...query, ...(body && typeof body === "object" ? body : {}) };
      if (p.startsWith(ARTIFACTS)) return this.artifacts(req.method ?? "GET", p, params, raw, res);
      const result = this.registry(`${req.method} ${p.slice(API.length)}`, params);
      if (result === undefined) throw new StubError(404, "ENDPOINT_NOT_FOUND", `stub has no endpoint ${req.method} ${p}`);
      this.json(res, 200, result);
    } catch (err) {
      if (err instanceof StubError) return this.json(res, err.status, { error_code: err.code, message: err.message });
      this.json(res, 500, { error_code: "INTERNAL_ERROR", message: (err as Error).message });
    }
  }

  private checkAuth(header: string | undefined): void {
    const { basicAuth, bearerToken } = this.opts;
    if (basicAuth) {
      const expected = `Basic ${Buffer.from(`${basicAuth.username}:${basicAuth.password}`).toString("base64")}`;
      if (header !== expected) throw new StubError(401, "UNAUTHENTICATED", "You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.");
    }
    if (bearerToken && header !== `Bearer ${bearerToken}`) throw new StubError(401, "UNAUTHENTICATED", "You are not authenticated.");
  }

  private registry(route: string, q: Record<string, unknown>): unknown {
    const str = (key: string) => {
      const v = q[key];
      if (v === undefined || v === null || v === "") throw new StubError(400, "INVALID_PARAMETER_VALUE", `Missing value for required parameter '${key}'.`);
      return String(v);
    };
    const requireVersion = () => {
      const v = this.version(str("name"), str("version"));
      if (!v) throw new StubError(404, "RESOURCE_DOES_NOT_EXIST", `Model Version (name=${q.name}, version=${q.version}) not found`);
      return v;
    };
    const requireModel = () => {
      const m = this.model(str("name"));
      if (!m) throw new StubError(404, "RESOURCE_DOES_NOT_EXIST", `Registered Model with name=${q.name} not found`);
      return m;
    };
    switch (route) {
      case "POST /registered-models/create": {
        const name = str("name");
        if (this.models.has(name)) throw new StubError(400, "RESOURCE_ALREADY_EXISTS", `Registered Model (name=${name}) already exists.`);
        const m = this.model(name, true)!;
        m.description = String(q.description ?? "");
        for (const t of (q.tags as { key: string; value: string }[]) ?? []) m.tags.set(t.key, t.value);
        return { registered_model: this.viewModel(name) };
      }
      case "GET /registered-models/get":
        requireModel();
        return { registered_model: this.viewModel(String(q.name)) };
      case "POST /model-versions/create": {
        const name = str("name");
        if (!this.models.has(name)) throw new StubError(404, "RESOURCE_DOES_NOT_EXIST", `Registered Model with name=${name} not found`);
        const tags = Object.fromEntries(((q.tags as { key: string; value: string }[]) ?? []).map((t) => [t.key, t.value]));
        const version = this.registerVersion(name, { tags, runId: q.run_id as string | undefined, description: q.description as string | undefined });
        const v = this.version(name, version)!;
        v.source = str("source");
        return { model_version: this.view(v) };
      }
      case "GET /model-versions/get":
        return { model_version: this.view(requireVersion()) };
      case "GET /model-versions/search": {
        const filter = String(q.filter ?? "");
        const m = /^\s*name\s*=\s*'((?:[^'\\]|\\.)*)'\s*$/.exec(filter) ?? /^\s*name\s*=\s*"((?:[^"\\]|\\.)*)"\s*$/.exec(filter);
        if (filter && !m) throw new StubError(400, "INVALID_PARAMETER_VALUE", `stub supports only filter "name='<model>'", got ${filter}`);
        const all = m ? (this.model(m[1].replace(/\\(.)/g, "$1"))?.versions ?? []) : [...this.models.values()].flatMap((x) => x.versions);
        const sorted = [...all].sort((a, b) => b.created - a.created);
        const max = Math.min(Number(q.max_results ?? 10_000), 200_000);
        const start = Number(q.page_token ?? 0);
        const page = sorted.slice(start, start + max);
        const next = start + max < sorted.length ? { next_page_token: String(start + max) } : {};
        return { model_versions: page.map((v) => this.view(v)), ...next };
      }
      case "GET /model-versions/get-download-uri": {
        const v = requireVersion();
        return { artifact_uri: `mlflow-artifacts:/models/${v.name}/${v.version}` };
      }
      case "POST /model-versions/set-tag": {
        const v = requireVersion();
        v.tags.set(str("key"), String(q.value ?? ""));
        v.updated = this.tick();
        return {};
      }
      case "DELETE /model-versions/delete-tag":
        requireVersion().tags.delete(str("key"));
        return {};
      case "POST /registered-models/alias": {
        const m = requireModel();
        const version = str("version");
        if (!m.versions.some((v) => v.version === version)) throw new StubError(404, "RESOURCE_DOES_NOT_EXIST", `Model Version (name=${q.name}, version=${version}) not found`);
        m.aliases.set(str("alias"), version);
        return {};
      }
      case "DELETE /registered-models/alias":
        requireModel().aliases.delete(str("alias"));
        return {};
      case "GET /registered-models/alias": {
        const m = requireModel();
        const version = m.aliases.get(str("alias"));
        if (version === undefined) throw new StubError(404, "RESOURCE_DOES_NOT_EXIST", `Registered model alias ${q.alias} not found.`);
        return { model_version: this.view(this.version(String(q.name), version)!) };
      }
      default:
        return undefined;
    }
  }

  private artifacts(method: string, p: string, q: Record<string, unknown>, raw: Buffer, res: http.ServerResponse): void {
    if (p === ARTIFACTS && method === "GET") {
      const dir = String(q.path ?? "").replace(/^\/+|\/+$/g, "");
      const entries = this.list(dir);
      return this.json(res, 200, entries.length ? { files: entries } : {});
    }
    const rel = decodeURIComponent(p.slice(ARTIFACTS.length + 1));
    if (rel.split("/").includes("..")) throw new StubError(400, "INVALID_PARAMETER_VALUE", `Invalid path: ${rel}`);
    if (method === "PUT") {
      this.uploads.set(rel, raw);
      return this.json(res, 200, {});
    }
    if (method !== "GET") throw new StubError(405, "METHOD_NOT_ALLOWED", `${method} is not allowed on ${p}`);
    const file = this.read(rel);
    if (!file) throw new StubError(404, "RESOURCE_DOES_NOT_EXIST", `File ${rel} not found`);
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": file.length });
    res.end(file);
  }

  /** `models/<name>/<version>/<rest>` -> that version and the path inside it. */
  private locate(artifactPath: string): { v: StubVersion; rest: string } | undefined {
    const [root, name, version, ...rest] = artifactPath.split("/").filter(Boolean);
    if (root !== "models" || !name || !version) return undefined;
    const v = this.version(decodeURIComponent(name), version);
    return v && { v, rest: rest.join("/") };
  }

  private read(artifactPath: string): Buffer | undefined {
    const uploaded = this.uploads.get(artifactPath);
    if (uploaded) return uploaded;
    const found = this.locate(artifactPath);
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

  private list(dir: string): { path: string; is_dir: boolean; file_size?: number }[] {
    const found = this.locate(dir);
    if (!found) return [];
    const entries = new Map<string, { path: string; is_dir: boolean; file_size?: number }>();
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
    return [...entries.values()].sort((a, b) => a.path.localeCompare(b.path));
  }

  private view(v: StubVersion) {
    const aliases = [...(this.model(v.name)?.aliases.entries() ?? [])].filter(([, ver]) => ver === v.version).map(([a]) => a);
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

  private viewModel(name: string) {
    const m = this.model(name)!;
    const latest = m.versions[m.versions.length - 1];
    return {
      name,
      creation_timestamp: m.created,
      last_updated_timestamp: latest?.updated ?? m.created,
      description: m.description,
      latest_versions: latest ? [this.view(latest)] : [],
      tags: [...m.tags].map(([key, value]) => ({ key, value })),
      aliases: [...m.aliases].map(([alias, version]) => ({ alias, version })),
    };
  }

  private json(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  }
}
