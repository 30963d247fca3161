/**
 * The platform API as it runs (startApi: real PostgreSQL, migrations, the first admin, the MLflow
 * stand-in seeded with the demo model): every endpoint of its OpenAPI document, called by a signed-in
 * user of each role, is refused with 403 exactly when the role lacks the permission the document
 * names, and never refused for a role that has it. The document itself is valid OpenAPI 3.1 and
 * every operation states its permission and rate class.
 */
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createLogger, parseEnv } from "@mlops/common";
import { makeDemoModel } from "@mlops/dev-fixtures";
import { MlflowRegistry } from "@mlops/dev-fixtures/mlflow-registry";
import { startApi, type ApiApp } from "../../../services/api/src/app";
import { envSchema } from "../../../services/api/src/env";
import { permissionsOf, ROLES, type Permission, type Role } from "../../../services/api/src/identity/roles";
import { openApiProblems } from "../../helpers/openapi";
import { useTestDatabase } from "../../helpers/postgres";

const ADMIN_PASSWORD = "first-admin-password-1";

interface Operation {
  method: string;
  path: string;
  operationId: string;
  permission: Permission | "public" | "authenticated";
  rateClass: string;
}

describe("the platform API as started by its entry point", () => {
  const db = useTestDatabase("api");
  const registry = new MlflowRegistry();
  let api: ApiApp;
  let base: string;
  const tokens = new Map<Role, string>();

  const call = async (method: string, p: string, opts: { token?: string; body?: unknown } = {}) => {
    const res = await fetch(`${base}${p}`, {
      method,
      headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...(opts.body === undefined ? {} : { "content-type": "application/json" }) },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    return { status: res.status, body: text && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text };
  };

  beforeAll(async () => {
    const demo = await makeDemoModel(mkdtempSync(path.join(os.tmpdir(), "api-app-")), { rows: 4000 });
    const mlflowUrl = await registry.start();
    await registry.seedDemo({ name: "fraud-detector", modelDir: demo.modelDir });
    const env = parseEnv(envSchema, {
      PORT: "0",
      METRICS_PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "silent",
      DATABASE_URL: db.url,
      JWT_SIGNING_KEY: "k".repeat(40),
      ADMIN_PASSWORD,
      MLFLOW_TRACKING_URI: mlflowUrl,
      // Nothing listens here: calls that reach serving answer 503, which is not a refusal of the caller.
      SERVING_URLS: JSON.stringify({ "fraud-detector": "http://127.0.0.1:9" }),
      SERVING_API_KEY: "s".repeat(32),
      MODEL_CACHE_DIR: mkdtempSync(path.join(os.tmpdir(), "api-cache-")),
      RATE_LIMITS: JSON.stringify({ admin: 250 }),
    });
    api = await startApi(env, createLogger("api-test", "silent"));
    base = `http://127.0.0.1:${api.service.apiPort}/api/v1`;
    const admin = await call("POST", "/auth/login", { body: { username: "admin", password: ADMIN_PASSWORD } });
    expect(admin.status).toBe(200);
    tokens.set("admin", admin.body.access_token);
    for (const role of ROLES.filter((r) => r !== "admin")) {
      const password = `${role}-password-123`;
      const created = await call("POST", "/users", { token: tokens.get("admin"), body: { username: `${role}@example.com`, password, role } });
      expect(created.status).toBe(201);
      tokens.set(role, (await call("POST", "/auth/login", { body: { username: `${role}@example.com`, password } })).body.access_token);
    }
  }, 120_000);

  afterAll(async () => {
    await api?.close();
    await registry.stop();
  });

  const operations = (): Operation[] => {
    const doc = api.shell.openapi as { paths: Record<string, Record<string, Record<string, unknown>>> };
    return Object.entries(doc.paths).flatMap(([p, methods]) =>
      Object.entries(methods).map(([method, op]) => ({
        method: method.toUpperCase(),
        path: p,
        operationId: op.operationId as string,
        permission: op["x-required-permission"] as Operation["permission"],
        rateClass: op["x-rate-limit-class"] as string,
      })),
    );
  };

  test("the document is valid OpenAPI 3.1 and covers identity, models, deploy, predictions and batches", () => {
    expect(openApiProblems(api.shell.openapi)).toEqual({ version: "3.1", valid: true, errors: [] });
    const ids = operations().map((o) => o.operationId);
    for (const path of ["/auth/login", "/auth/refresh", "/auth/logout", "/users", "/users/{id}", "/models", "/models/{id}", "/models/{id}/deploy", "/models/{id}/predict", "/models/{id}/predict/batch", "/models/{id}/predictions", "/predictions/{prediction_id}", "/audit"]) {
      expect(Object.keys((api.shell.openapi as { paths: object }).paths)).toContain(path);
    }
    expect(new Set(ids).size).toBe(ids.length);
    for (const op of operations()) expect([op.operationId, typeof op.permission, typeof op.rateClass]).toEqual([op.operationId, "string", "string"]);
  });

  test("every endpoint refuses exactly the roles without its permission (403), and only those", async () => {
    const concrete = (p: string) => p.replace("{id}", "fraud-detector").replace("{prediction_id}", "pred_1").replace("{batch_id}", "batch_0").replace("{key_id}", "1");
    const table: string[] = [];
    for (const op of operations().filter((o) => o.permission !== "public" && o.permission !== "authenticated")) {
      for (const role of ROLES) {
        // Users' paths name the caller's own id, so a permitted call reaches its handler; bodies are empty,
        // so a permitted call is refused by validation (422) at the latest, never by the permission check.
        const p = concrete(op.path.startsWith("/users/{id}") ? op.path.replace("{id}", "2") : op.path);
        const body = ["POST", "PUT", "PATCH"].includes(op.method) ? {} : undefined;
        const res = await call(op.method, p, { token: tokens.get(role), body });
        const allowed = permissionsOf(role, "dev").has(op.permission as Permission);
        const refused = res.status === 403;
        table.push(`${op.method} ${op.path} ${role}: ${allowed ? "allowed" : "refused"} -> ${res.status}${refused ? ` ${res.body.error.details.required_permission}` : ""}`);
        expect([op.operationId, role, refused]).toEqual([op.operationId, role, !allowed]);
        expect(res.status).not.toBe(401);
        if (refused) expect(res.body.error.details.required_permission).toBe(op.permission);
      }
    }
    expect(table.length).toBeGreaterThanOrEqual(4 * 15);
  });

  test("an unauthenticated call to any protected endpoint is 401 INVALID_TOKEN", async () => {
    for (const op of operations().filter((o) => o.permission !== "public")) {
      const res = await call(op.method, op.path.replace(/\{[a-z_]+\}/g, "x"), { body: ["POST", "PUT", "PATCH"].includes(op.method) ? {} : undefined });
      expect([op.operationId, res.status, res.body.error?.code]).toEqual([op.operationId, 401, "INVALID_TOKEN"]);
    }
  });

  test("the refused and permitted mutating calls are in the audit log, readable by admins only", async () => {
    const page = await call("GET", "/audit?limit=1000&action=deployModel", { token: tokens.get("admin") });
    expect(page.status).toBe(200);
    const outcomes = new Map(page.body.entries.map((e: { actor: { username: string }; outcome: string }) => [e.actor.username, e.outcome]));
    expect(outcomes.get("viewer@example.com")).toBe("denied");
    expect(outcomes.get("ml_engineer@example.com")).toBe("failure"); // allowed, then 422 on the empty body
    expect((await call("GET", "/audit", { token: tokens.get("ml_engineer") })).status).toBe(403);
  });

  test("ready once migrated, with its docs and metrics", async () => {
    expect((await fetch(`http://127.0.0.1:${api.service.apiPort}/health/ready`)).status).toBe(200);
    expect((await fetch(`${base}/docs`)).status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${api.service.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/mlops_api_requests_total\{operation="deployModel",status="403"\} [1-9]/);
  });

  test("RATE_LIMITS overrides the classes it names; the others keep the seed's limits", async () => {
    const limitOf = async (p: string) => (await fetch(`${base}${p}`, { headers: { authorization: `Bearer ${tokens.get("admin")}` } })).headers.get("x-ratelimit-limit");
    expect(await limitOf("/users")).toBe("250");
    expect(await limitOf("/models")).toBe("100");
  });
});

describe("RATE_LIMITS", () => {
  const required = { DATABASE_URL: "postgresql://u:p@h/db", JWT_SIGNING_KEY: "k".repeat(32), MLFLOW_TRACKING_URI: "http://mlflow:5000", SERVING_API_KEY: "s".repeat(32) };
  const parse = (RATE_LIMITS?: string) => envSchema.safeParse({ ...required, RATE_LIMITS });

  test("unset, no class is overridden", () => {
    expect(parse().data?.RATE_LIMITS).toEqual({});
  });

  test.each([
    ['{"predictons": 5000}', /predictons/],
    ['{"predictions": 0}', /predictions: .*>=1/],
    ['{"predictions": "many"}', /predictions: .*number/],
    ["predictions=5000", /JSON/],
  ])("%s is refused, naming what is wrong", (text, message) => {
    const result = parse(text);
    expect(result.success).toBe(false);
    const issue = result.error!.issues.find((i) => i.path[0] === "RATE_LIMITS");
    expect(issue?.message).toMatch(message);
  });
});
