import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { startPostgres, type TempPostgres } from "./support/postgres";
import { requireTool, run } from "../../helpers/tools";

/**
 * The scripts the MLflow image runs (services/mlflow): executed for real with Debian's python3,
 * against a real PostgreSQL and an HTTP stand-in for MLflow's auth REST API.
 */
const MLFLOW_DIR = path.resolve(__dirname, "../../../services/mlflow");
const script = (name: string) => path.join(MLFLOW_DIR, name);
let python: string;
beforeAll(() => {
  python = requireTool("/usr/bin/python3", "python3");
});

function runPython(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(python, args, { env: { PATH: process.env.PATH ?? "", ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as any).code ?? 1) : 0, stdout, stderr });
    });
  });
}
const events = (stdout: string) => stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));

describe("entrypoint.py renders MLflow's basic-auth config, then runs the command", () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(tmpdir(), "mlops-auth-"))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const base = (target: string) => ({
    MLFLOW_AUTH_CONFIG_PATH: target,
    MLFLOW_AUTH_DEFAULT_PERMISSION: "NO_PERMISSIONS",
    MLFLOW_AUTH_DATABASE_URI: "postgresql://mlops_mlflow:p%40ss@db:5432/mlflow_auth?sslmode=require",
    MLFLOW_AUTH_ADMIN_USERNAME: "admin",
    MLFLOW_AUTH_ADMIN_PASSWORD: "s3cret%with$dollar",
  });

  test("configparser (as MLflow reads it) gets the values back unchanged; the file is private", async () => {
    const target = path.join(dir, "auth", "basic_auth.ini");
    const read = `import configparser, json, sys; c = configparser.ConfigParser(); c.read(sys.argv[1]); print(json.dumps(dict(c["mlflow"])))`;
    const r = await runPython([script("entrypoint.py"), python, "-c", read, target], base(target));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      default_permission: "NO_PERMISSIONS",
      database_uri: "postgresql://mlops_mlflow:p%40ss@db:5432/mlflow_auth?sslmode=require",
      admin_username: "admin",
      admin_password: "s3cret%with$dollar",
      authorization_function: "mlflow.server.auth:authenticate_request_basic_auth",
    });
    expect(statSync(target).mode & 0o777).toBe(0o600);
  });

  test("a missing variable or a line break stops the container with one clear message", async () => {
    const target = path.join(dir, "x.ini");
    const { MLFLOW_AUTH_ADMIN_PASSWORD: _p, ...withoutPassword } = base(target);
    const missing = await runPython([script("entrypoint.py"), "true"], withoutPassword);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("needs the environment variable(s) MLFLOW_AUTH_ADMIN_PASSWORD");
    const injected = await runPython([script("entrypoint.py"), "true"], { ...base(target), MLFLOW_AUTH_ADMIN_USERNAME: "admin\nadmin_password = x" });
    expect(injected.code).toBe(2);
    expect(injected.stderr).toContain("MLFLOW_AUTH_ADMIN_USERNAME contains a line break");
  });
});

/** MLflow's auth REST API, as documented, for the calls bootstrap_users.py makes. */
class FakeMlflowAuth {
  users = new Map<string, string>();
  permissions = new Map<string, string>();
  /** `<experiment id>/<username>` -> permission. */
  experimentPermissions = new Map<string, string>();
  models = new Set(["fraud-detector"]);
  /**
   * Versions per model: a version logged by a run (its source already the proxied location) and an
   * MLflow 3 logged model (source `models:/m-...`, whose files the download URI locates).
   */
  versions: Record<string, { version: string; source: string; downloadUri: string }[]> = {
    "fraud-detector": [
      { version: "1", source: "mlflow-artifacts:/3/0a1b/artifacts/model", downloadUri: "mlflow-artifacts:/3/0a1b/artifacts/model" },
      { version: "2", source: "models:/m-77", downloadUri: "mlflow-artifacts:/12/models/m-77/artifacts" },
      { version: "3", source: "models:/m-78", downloadUri: "mlflow-artifacts:/12/models/m-78/artifacts" },
    ],
  };
  calls: string[] = [];
  server: Server;
  constructor(private readonly admin: { username: string; password: string }) {
    this.server = createServer((req, res) => void this.handle(req, res));
  }
  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }
  close(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
  private async handle(req: IncomingMessage, res: ServerResponse) {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const error = (status: number, code: string, message: string) => send(status, { error_code: code, message });
    if (req.url === "/health") return void res.end("OK");
    const expected = `Basic ${Buffer.from(`${this.admin.username}:${this.admin.password}`).toString("base64")}`;
    if (req.headers.authorization !== expected) return void res.writeHead(401).end("You are not authenticated.");
    let raw = "";
    for await (const chunk of req) raw += chunk;
    const body = JSON.parse(raw || "{}");
    this.calls.push(`${req.method} ${req.url}`);
    const key = `${body.name}/${body.username}`;
    const url = new URL(req.url ?? "/", "http://fake");
    const query = Object.fromEntries(url.searchParams);
    switch (`${req.method} ${url.pathname}`) {
      case "GET /api/2.0/mlflow/model-versions/search": {
        // One version per page, so the script must follow next_page_token.
        const name = /^name='(.+)'$/.exec(query.filter ?? "")?.[1] ?? "";
        const all = this.versions[name] ?? [];
        const at = Number(query.page_token ?? 0);
        const page = all.slice(at, at + 1).map(({ version, source }) => ({ name, version, source }));
        return send(200, { model_versions: page, ...(at + 1 < all.length ? { next_page_token: String(at + 1) } : {}) });
      }
      case "GET /api/2.0/mlflow/registered-models/search": {
        // One model per page, so the script must follow next_page_token.
        const all = [...this.models];
        const at = Number(query.page_token ?? 0);
        return send(200, { registered_models: all.slice(at, at + 1).map((name) => ({ name })), ...(at + 1 < all.length ? { next_page_token: String(at + 1) } : {}) });
      }
      case "GET /api/2.0/mlflow/model-versions/get-download-uri": {
        const v = (this.versions[query.name] ?? []).find((x) => x.version === query.version);
        return v ? send(200, { artifact_uri: v.downloadUri }) : error(404, "RESOURCE_DOES_NOT_EXIST", "no such version");
      }
      case "POST /api/2.0/mlflow/experiments/permissions/create": {
        const k = `${body.experiment_id}/${body.username}`;
        if (this.experimentPermissions.has(k)) return error(400, "RESOURCE_ALREADY_EXISTS", "exists");
        this.experimentPermissions.set(k, body.permission);
        return send(200, { experiment_permission: body });
      }
      case "PATCH /api/2.0/mlflow/experiments/permissions/update":
        this.experimentPermissions.set(`${body.experiment_id}/${body.username}`, body.permission);
        return send(200, {});
      case "POST /api/2.0/mlflow/users/create":
        if (this.users.has(body.username)) return error(400, "RESOURCE_ALREADY_EXISTS", `User '${body.username}' already exists.`);
        this.users.set(body.username, body.password);
        return send(200, { user: { username: body.username } });
      case "PATCH /api/2.0/mlflow/users/update-password":
        if (!this.users.has(body.username)) return error(404, "RESOURCE_DOES_NOT_EXIST", "no such user");
        this.users.set(body.username, body.password);
        return send(200, {});
      case "POST /api/2.0/mlflow/registered-models/permissions/create":
        if (!this.models.has(body.name)) return error(404, "RESOURCE_DOES_NOT_EXIST", `Registered Model with name=${body.name} not found`);
        if (this.permissions.has(key)) return error(400, "RESOURCE_ALREADY_EXISTS", "exists");
        this.permissions.set(key, body.permission);
        return send(200, { registered_model_permission: body });
      case "PATCH /api/2.0/mlflow/registered-models/permissions/update":
        this.permissions.set(key, body.permission);
        return send(200, {});
      default:
        return error(404, "ENDPOINT_NOT_FOUND", `${req.method} ${req.url}`);
    }
  }
}

describe("bootstrap_users.py creates the service accounts and their model permissions", () => {
  const admin = { username: "admin", password: "admin-pass" };
  // As components/kubernetes/mlflow.ts renders it: serving downloads files, the monitor only moves aliases.
  const spec = [
    {
      username: "svc-serving",
      passwordEnv: "P0",
      permissions: [
        { model: "fraud-detector", permission: "READ", artifactsPermission: "READ" },
        { model: "churn", permission: "READ", artifactsPermission: "READ" },
      ],
    },
    { username: "svc-monitor", passwordEnv: "P1", permissions: [{ model: "fraud-detector", permission: "EDIT" }] },
    { username: "svc-metrics", passwordEnv: "P2", permissions: [] },
  ];
  let mlflow: FakeMlflowAuth;
  let url: string;
  beforeEach(async () => {
    mlflow = new FakeMlflowAuth(admin);
    url = await mlflow.listen();
  });
  afterEach(() => mlflow.close());
  const env = (extra: Record<string, string> = {}) => ({
    MLFLOW_TRACKING_URI: url,
    MLFLOW_TRACKING_USERNAME: admin.username,
    MLFLOW_TRACKING_PASSWORD: admin.password,
    MLOPS_MLFLOW_USERS: JSON.stringify(spec),
    P0: "serving-pw",
    P1: "monitor-pw",
    P2: "metrics-pw",
    MLOPS_WAIT_SECONDS: "10",
    ...extra,
  });

  test("first run creates; a model not registered yet is pending; a second run updates (rotated password) and grants it", async () => {
    const first = await runPython([script("bootstrap_users.py")], env());
    expect(first.code).toBe(0);
    expect(Object.fromEntries(mlflow.users)).toEqual({ "svc-serving": "serving-pw", "svc-monitor": "monitor-pw", "svc-metrics": "metrics-pw" });
    expect(Object.fromEntries(mlflow.permissions)).toEqual({ "fraud-detector/svc-serving": "READ", "fraud-detector/svc-monitor": "EDIT" });
    expect(events(first.stdout).find((e) => e.model === "churn")).toMatchObject({ event: "permission", result: "pending" });
    expect(events(first.stdout).at(-1)).toEqual({ event: "done", users: 3, pendingPermissions: 1 });

    mlflow.models.add("churn");
    const second = await runPython([script("bootstrap_users.py")], env({ P0: "rotated" }));
    expect(second.code).toBe(0);
    expect(mlflow.users.get("svc-serving")).toBe("rotated");
    expect(mlflow.permissions.get("churn/svc-serving")).toBe("READ");
    expect(events(second.stdout).filter((e) => e.event === "user").map((e) => e.result)).toEqual(["updated", "updated", "updated"]);
    expect(second.stdout).not.toContain("rotated");
  });

  test("an account that downloads files reads the experiments holding its model's versions, every page of them; the others get no experiment", async () => {
    const first = await runPython([script("bootstrap_users.py")], env());
    expect(first.code).toBe(0);
    // Under NO_PERMISSIONS MLflow's artifact proxy answers 403 without these (it authorizes by experiment).
    expect(Object.fromEntries(mlflow.experimentPermissions)).toEqual({ "3/svc-serving": "READ", "12/svc-serving": "READ" });
    expect(events(first.stdout).filter((e) => e.event === "experiment-permission").map((e) => [e.model, e.experiment, e.result])).toEqual([
      ["fraud-detector", "3", "granted"],
      ["fraud-detector", "12", "granted"],
    ]);
    // A run-logged version's source is the location already: only the logged models need their download URI.
    expect(mlflow.calls.filter((c) => c.includes("get-download-uri"))).toHaveLength(2);

    // A new version in a new experiment, and a permission someone raised by hand: the next run follows both.
    mlflow.versions["fraud-detector"].push({ version: "4", source: "models:/m-90", downloadUri: "mlflow-artifacts:/15/models/m-90/artifacts" });
    mlflow.experimentPermissions.set("3/svc-serving", "MANAGE");
    const second = await runPython([script("bootstrap_users.py")], env());
    expect(second.code).toBe(0);
    expect(Object.fromEntries(mlflow.experimentPermissions)).toEqual({ "3/svc-serving": "READ", "12/svc-serving": "READ", "15/svc-serving": "READ" });
  });

  test("allModels: the platform API's account gets its grant on every registered model, every page, including models registered later", async () => {
    const api = [{ username: "svc-api", passwordEnv: "P0", permissions: [{ model: "fraud-detector", permission: "MANAGE", artifactsPermission: "READ" }], allModels: { permission: "MANAGE", artifactsPermission: "READ" } }];
    mlflow.models.add("people-model");
    const first = await runPython([script("bootstrap_users.py")], env({ MLOPS_MLFLOW_USERS: JSON.stringify(api) }));
    expect(first.code).toBe(0);
    expect(Object.fromEntries(mlflow.permissions)).toEqual({ "fraud-detector/svc-api": "MANAGE", "people-model/svc-api": "MANAGE" });
    // A model registered directly in MLflow afterwards: the next reconcile grants it.
    mlflow.models.add("later-model");
    const second = await runPython([script("bootstrap_users.py")], env({ MLOPS_MLFLOW_USERS: JSON.stringify(api) }));
    expect(second.code).toBe(0);
    expect(mlflow.permissions.get("later-model/svc-api")).toBe("MANAGE");
    expect(events(second.stdout).at(-1)).toEqual({ event: "done", users: 1, pendingPermissions: 0 });
    const bad = [{ ...api[0], allModels: { permission: "OWNER" } }];
    const refused = await runPython([script("bootstrap_users.py")], env({ MLOPS_MLFLOW_USERS: JSON.stringify(bad) }));
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("MLOPS_MLFLOW_USERS[0].allModels: expected");
  });

  test("a bad artifactsPermission is refused before any call", async () => {
    const bad = [{ username: "x", passwordEnv: "P0", permissions: [{ model: "m", permission: "READ", artifactsPermission: "OWNER" }] }];
    const r = await runPython([script("bootstrap_users.py")], env({ MLOPS_MLFLOW_USERS: JSON.stringify(bad) }));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("MLOPS_MLFLOW_USERS[0].permissions[0].artifactsPermission: expected one of");
    expect(mlflow.calls).toEqual([]);
  });

  test("wrong admin credentials, a bad spec or a missing password fail with exit 1 and a reason", async () => {
    const denied = await runPython([script("bootstrap_users.py")], env({ MLFLOW_TRACKING_PASSWORD: "wrong" }));
    expect(denied.code).toBe(1);
    expect(events(denied.stdout).at(-1)).toMatchObject({ event: "error", message: expect.stringContaining("creating user svc-serving: HTTP 401") });
    const bad = await runPython([script("bootstrap_users.py")], env({ MLOPS_MLFLOW_USERS: JSON.stringify([{ username: "x", passwordEnv: "P0", permissions: [{ model: "m", permission: "OWNER" }] }]) }));
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain("MLOPS_MLFLOW_USERS[0].permissions[0]: expected {model, permission}");
    const noPassword = await runPython([script("bootstrap_users.py")], env({ P1: "" }));
    expect(noPassword.code).toBe(1);
    expect(noPassword.stdout).toContain("(svc-monitor): passwordEnv must name a set environment variable");
    // Nothing got past authentication, and the bad specs were refused before any call.
    expect(mlflow.calls).toEqual([]);
    expect(mlflow.users.size).toBe(0);
  });

  test("it waits for MLflow to answer, and gives up with a message", async () => {
    await mlflow.close();
    const r = await runPython([script("bootstrap_users.py")], env({ MLOPS_WAIT_SECONDS: "1" }));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("did not answer /health within 1s");
    mlflow = new FakeMlflowAuth(admin);
    url = await mlflow.listen();
  });
});

describe("init_databases.py against a real PostgreSQL, as a non-superuser admin (like RDS)", () => {
  let pg: TempPostgres;
  beforeAll(async () => {
    pg = await startPostgres();
    pg.sql("CREATE ROLE cloud_admin LOGIN CREATEDB CREATEROLE PASSWORD 'admin-pw'");
    // Managed databases create the first database for the admin (RDS: dbName "mlflow").
    pg.sql("CREATE DATABASE mlflow OWNER cloud_admin");
  }, 60_000);
  afterAll(() => pg?.stop());

  const spec = [
    { database: "mlflow", owner: "mlops_mlflow", passwordEnv: "MLFLOW_DB_PASSWORD" },
    { database: "mlflow_auth", owner: "mlops_mlflow", passwordEnv: "MLFLOW_DB_PASSWORD" },
    { database: "monitor", owner: "mlops_monitor", passwordEnv: "MONITOR_DB_PASSWORD" },
  ];
  const env = (extra: Record<string, string> = {}) => ({
    PGHOST: pg.host,
    PGPORT: String(pg.port),
    PGUSER: "cloud_admin",
    PGPASSWORD: "admin-pw",
    PGSSLMODE: "disable",
    PGDATABASE: "postgres",
    MLOPS_DATABASES: JSON.stringify(spec),
    MLFLOW_DB_PASSWORD: "mlflow-pw",
    MONITOR_DB_PASSWORD: "monitor-pw",
    ...extra,
  });
  const connect = (user: string, password: string, db: string) =>
    run("psql", ["-h", pg.host, "-p", String(pg.port), "-U", user, "-d", db, "-v", "ON_ERROR_STOP=1", "-At", "-c", "CREATE TABLE IF NOT EXISTS probe (x int); SELECT current_user"], {
      env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: "5" },
    });

  test("creates the roles and databases, hands the existing one over, and each role reaches only its own", async () => {
    requireTool("psql", "postgresql-client");
    const r = await runPython([script("init_databases.py")], env());
    expect(r.stdout).not.toContain("mlflow-pw");
    expect(r.code).toBe(0);
    expect(events(r.stdout).filter((e) => e.event === "database").map((e) => [e.database, e.result])).toEqual([
      ["mlflow", "owner changed from cloud_admin"],
      ["mlflow_auth", "created"],
      ["monitor", "created"],
    ]);
    expect(pg.sql("SELECT datname || ':' || pg_get_userbyid(datdba) FROM pg_database WHERE datname IN ('mlflow','mlflow_auth','monitor') ORDER BY 1").split("\n")).toEqual([
      "mlflow:mlops_mlflow",
      "mlflow_auth:mlops_mlflow",
      "monitor:mlops_monitor",
    ]);
    expect(connect("mlops_monitor", "monitor-pw", "monitor")).toMatchObject({ status: 0, stdout: "CREATE TABLE\nmlops_monitor\n" });
    expect(connect("mlops_mlflow", "mlflow-pw", "mlflow_auth")).toMatchObject({ status: 0 });
    expect(connect("mlops_monitor", "monitor-pw", "mlflow").stderr).toMatch(/permission denied for database "mlflow"/);
  });

  test("a second run changes nothing but a rotated password", async () => {
    const r = await runPython([script("init_databases.py")], env({ MONITOR_DB_PASSWORD: "rotated-pw" }));
    expect(r.code).toBe(0);
    expect(events(r.stdout).filter((e) => e.event === "database").map((e) => e.result)).toEqual(["unchanged", "unchanged", "unchanged"]);
    expect(events(r.stdout).filter((e) => e.event === "role").map((e) => e.result)).toEqual(["updated", "updated"]);
    expect(connect("mlops_monitor", "monitor-pw", "monitor").stderr).toMatch(/password authentication failed/);
    expect(connect("mlops_monitor", "rotated-pw", "monitor").status).toBe(0);
  });

  test("bad input is refused before connecting; a bad admin password is one clear line", async () => {
    const badName = await runPython([script("init_databases.py")], env({ MLOPS_DATABASES: JSON.stringify([{ database: "Robert'); DROP", owner: "x", passwordEnv: "MLFLOW_DB_PASSWORD" }]) }));
    expect(badName.code).toBe(1);
    expect(badName.stdout).toContain("MLOPS_DATABASES[0].database: expected a lower-case SQL identifier");
    const noPassword = await runPython([script("init_databases.py")], env({ MONITOR_DB_PASSWORD: "" }));
    expect(noPassword.stdout).toContain("passwordEnv 'MONITOR_DB_PASSWORD' is not set");
    const denied = await runPython([script("init_databases.py")], env({ PGPASSWORD: "wrong" }));
    expect(denied.code).toBe(1);
    expect(events(denied.stdout)).toEqual([{ event: "error", message: expect.stringMatching(/^OperationalError: .*password authentication failed for user "cloud_admin"/) }]);
    expect(denied.stdout).not.toContain("wrong");
  });
});

describe("migrate_db.py: the schema is at head before a new MLflow version serves", () => {
  // MLflow and SQLAlchemy cannot be installed here (no PyPI): small doubles of the two entry points the
  // script uses record what it did, and a fake `mlflow` CLI on PATH records `mlflow db upgrade`.
  let dir: string;
  let log: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "mlops-migrate-"));
    log = path.join(dir, "calls.log");
    const files: Record<string, string> = {
      "sqlalchemy/__init__.py": [
        "import json, os",
        "class _Engine:",
        "    def __init__(self, url): self.url = url",
        "    def dispose(self): pass",
        "class _Inspector:",
        "    def get_table_names(self): return json.loads(os.environ['STUB_TABLES'])",
        "def create_engine(url): return _Engine(url)",
        "def inspect(engine): return _Inspector()",
      ].join("\n"),
      "mlflow/__init__.py": "",
      "mlflow/store/__init__.py": "",
      "mlflow/store/tracking/__init__.py": "",
      "mlflow/store/tracking/sqlalchemy_store.py": [
        "import os",
        "class SqlAlchemyStore:",
        "    def __init__(self, uri, root):",
        "        open(os.environ['STUB_LOG'], 'a').write(f'tracking-store {uri} {root}\\n')",
      ].join("\n"),
      "mlflow/server/__init__.py": "",
      "mlflow/server/auth/__init__.py": "",
      "mlflow/server/auth/sqlalchemy_store.py": [
        "import os",
        "class SqlAlchemyStore:",
        "    def init_db(self, uri):",
        "        if os.environ.get('STUB_AUTH_FAIL'): raise RuntimeError(f'could not connect to {uri}')",
        "        open(os.environ['STUB_LOG'], 'a').write(f'auth-store {uri}\\n')",
      ].join("\n"),
      "bin/mlflow": ["#!/bin/sh", 'echo "cli $*" >> "$STUB_LOG"', 'if [ "$STUB_UPGRADE_EXIT" != 0 ]; then echo "alembic.util.exc.CommandError: bad revision in $3" >&2; fi', 'exit "$STUB_UPGRADE_EXIT"'].join("\n"),
    };
    for (const [file, text] of Object.entries(files)) {
      const target = path.join(dir, file);
      require("node:fs").mkdirSync(path.dirname(target), { recursive: true });
      require("node:fs").writeFileSync(target, text, { mode: 0o755 });
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const migrate = (extra: Record<string, string>) => {
    rmSync(log, { force: true });
    return runPython([script("migrate_db.py")], {
      PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
      PYTHONPATH: dir,
      STUB_LOG: log,
      STUB_UPGRADE_EXIT: "0",
      MLFLOW_BACKEND_STORE_URI: "postgresql://u:secret@db/mlflow",
      MLFLOW_AUTH_DATABASE_URI: "postgresql://u:secret@db/mlflow_auth",
      ...extra,
    });
  };
  const calls = () => readFileSync(log, "utf8").trim().split("\n");

  test("an empty database is created by MLflow's store, once; then the auth store migrates", async () => {
    const r = await migrate({ STUB_TABLES: JSON.stringify(["alembic_version"]) });
    expect(r.code).toBe(0);
    expect(calls()).toEqual(["tracking-store postgresql://u:secret@db/mlflow mlflow-artifacts:/", "auth-store postgresql://u:secret@db/mlflow_auth"]);
    expect(events(r.stdout)).toEqual([{ event: "tracking", result: "initialised" }, { event: "auth", result: "upgraded" }, { event: "done" }]);
  });

  test("an existing database is upgraded with `mlflow db upgrade`", async () => {
    const r = await migrate({ STUB_TABLES: JSON.stringify(["alembic_version", "experiments", "runs"]) });
    expect(r.code).toBe(0);
    expect(calls()).toEqual(["cli db upgrade postgresql://u:secret@db/mlflow", "auth-store postgresql://u:secret@db/mlflow_auth"]);
  });

  test("a failed migration fails the Job (the Deployment does not roll), without printing the URI", async () => {
    const failed = await migrate({ STUB_TABLES: JSON.stringify(["runs"]), STUB_UPGRADE_EXIT: "3" });
    expect(failed.code).toBe(1);
    expect(events(failed.stdout)).toEqual([{ event: "error", message: "mlflow db upgrade exited 3: alembic.util.exc.CommandError: bad revision in <backend-store-uri>" }]);
    const auth = await migrate({ STUB_TABLES: JSON.stringify(["runs"]), STUB_AUTH_FAIL: "1" });
    expect(auth.code).toBe(1);
    expect(events(auth.stdout).at(-1)).toEqual({ event: "error", message: "RuntimeError: could not connect to <MLFLOW_AUTH_DATABASE_URI>" });
    expect(auth.stdout).not.toContain("secret");
  });
});

describe("the MLflow Dockerfile ships what the Jobs and the Deployment run", () => {
  test("every /opt/mlops script the platform runs is copied into the image, from files that exist", () => {
    const dockerfile = readFileSync(path.join(MLFLOW_DIR, "Dockerfile"), "utf8");
    const copy = /^COPY (.+) \/opt\/mlops\/$/m.exec(dockerfile)![1].split(/\s+/);
    const shipped = copy.map((src) => path.basename(src));
    for (const src of copy) expect(statSync(path.resolve(MLFLOW_DIR, "../..", src)).isFile()).toBe(true);
    const used = readFileSync(path.resolve(__dirname, "../../../components/kubernetes/mlflow.ts"), "utf8") + readFileSync(path.resolve(__dirname, "../../../components/kubernetes/databases.ts"), "utf8");
    const referenced = [...new Set([...used.matchAll(/\/opt\/mlops\/([a-z_]+\.py)/g)].map((m) => m[1]))];
    expect(referenced.sort()).toEqual(["bootstrap_users.py", "entrypoint.py", "init_databases.py", "migrate_db.py"]);
    for (const f of [...referenced, "basic_auth.ini"]) expect(shipped).toContain(f);
  });
});
