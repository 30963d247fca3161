/**
 * The API's shell: the seed's error body on every refusal, validation as 422 naming each field,
 * authentication and permission order, rate limits with the seed's headers and 429 body, the audit
 * of mutating calls, and the OpenAPI document generated from the same schemas, with its two viewers
 * served from the installed packages.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createLogger } from "@mlops/common";
import { roleAuthenticator } from "../../helpers/api-kit";
import { openApiProblems } from "../../helpers/openapi";
import { Registry } from "prom-client";
import { z } from "zod";
import type { AuditEntry } from "../../../services/api/src/http/endpoint";
import { FixedWindowCounter } from "../../../services/api/src/http/rate-limit";
import { createApiShell, type ApiShell } from "../../../services/api/src/http/shell";
import type { Role } from "../../../services/api/src/identity/roles";

describe("the API shell", () => {
  const audit: AuditEntry[] = [];
  const registry = new Registry();
  let shell: ApiShell;
  let server: http.Server;
  let base: string;
  const call = async (method: string, path: string, opts: { role?: Role; body?: unknown; raw?: string; headers?: Record<string, string> } = {}) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...(opts.role ? { authorization: `Bearer role:${opts.role}` } : {}), ...(opts.body !== undefined || opts.raw ? { "content-type": "application/json" } : {}), ...opts.headers },
      body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text && res.headers.get("content-type")?.includes("json") ? (JSON.parse(text) as any) : undefined, text };
  };

  beforeAll(async () => {
    shell = createApiShell({
      logger: createLogger("api-test", "silent"),
      bodyLimitBytes: 1024,
      authenticator: roleAuthenticator(),
      audit: { record: async (e) => void audit.push(e) },
      registry,
      rateLimits: { auth: 3, models: 100, predictions: 1000, drift: 50, admin: 100 },
      register: (api) => {
        api.endpoint({
          method: "get",
          path: "/things/{id}",
          operationId: "getThing",
          summary: "A thing",
          tag: "things",
          access: "read_models",
          rateClass: "models",
          params: z.object({ id: z.string().regex(/^[a-z]+$/, "lower-case letters only") }),
          query: z.object({ limit: z.coerce.number().int().min(1).max(10).default(5) }),
          responses: { 200: { description: "the thing", schema: z.object({ id: z.string(), limit: z.number() }) } },
          handler: ({ params, query }) => ({ body: { id: params.id, limit: query.limit } }),
        });
        api.endpoint({
          method: "post",
          path: "/things",
          operationId: "createThing",
          summary: "Create a thing",
          tag: "things",
          access: "write_models",
          rateClass: "models",
          body: z.object({ name: z.string().min(2), size: z.number().positive() }),
          responses: { 201: { description: "created" } },
          handler: ({ body, auditDetail }) => {
            auditDetail({ name: body.name });
            if (body.name === "boom") throw new Error("a bug");
            return { status: 201, body: { created: body.name } };
          },
        });
        api.endpoint({
          method: "post",
          path: "/login",
          operationId: "login",
          summary: "Log in",
          tag: "auth",
          access: "public",
          rateClass: "auth",
          body: z.object({ username: z.string() }),
          responses: { 200: { description: "ok" } },
          handler: ({ body, auditActor }) => {
            auditActor(body.username);
            return { body: { ok: true } };
          },
        });
      },
    });
    server = http.createServer(shell.app);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const expectSeedError = (body: any, code: string) => {
    expect(body.error).toEqual({ code, message: expect.any(String), details: expect.any(Object), timestamp: expect.any(String), request_id: expect.any(String) });
    expect(Number.isNaN(Date.parse(body.error.timestamp))).toBe(false);
  };

  it("answers a valid call and echoes the request id in the error body of a refused one", async () => {
    expect((await call("GET", "/api/v1/things/abc?limit=3", { role: "viewer" })).body).toEqual({ id: "abc", limit: 3 });
    const refused = await call("GET", "/api/v1/things/abc", { headers: { "x-request-id": "req_123456" } });
    expect(refused.status).toBe(401);
    expectSeedError(refused.body, "INVALID_TOKEN");
    expect(refused.body.error.request_id).toBe("req_123456");
    expect(refused.headers.get("www-authenticate")).toContain("Bearer");
  });

  it("refuses a role without the permission with 403 naming it", async () => {
    const res = await call("POST", "/api/v1/things", { role: "viewer", body: { name: "ab", size: 1 } });
    expect(res.status).toBe(403);
    expectSeedError(res.body, "FORBIDDEN");
    expect(res.body.error.details.required_permission).toBe("write_models");
  });

  it("names every invalid field in a 422 VALIDATION_ERROR", async () => {
    const res = await call("POST", "/api/v1/things", { role: "ml_engineer", body: { name: "a", size: -1 } });
    expect(res.status).toBe(422);
    expectSeedError(res.body, "VALIDATION_ERROR");
    expect(res.body.error.details.errors.map((e: any) => e.loc).sort()).toEqual(["body.name", "body.size"]);
    const path = await call("GET", "/api/v1/things/ABC?limit=99", { role: "viewer" });
    expect(path.status).toBe(422);
    expect(path.body.error.details.errors.map((e: any) => e.loc).sort()).toEqual(["path.id", "query.limit"]);
  });

  it("gives 404, 405, 400 for bad JSON and 413 the seed's body too", async () => {
    const missing = await call("GET", "/api/v1/nothing", { role: "viewer" });
    expect(missing.status).toBe(404);
    expectSeedError(missing.body, "NOT_FOUND");
    const method = await call("DELETE", "/api/v1/things", { role: "admin" });
    expect(method.status).toBe(405);
    expect(method.headers.get("allow")).toBe("POST");
    expectSeedError(method.body, "METHOD_NOT_ALLOWED");
    const badJson = await call("POST", "/api/v1/things", { role: "admin", raw: "{nope" });
    expect(badJson.status).toBe(400);
    expectSeedError(badJson.body, "INVALID_JSON");
    const big = await call("POST", "/api/v1/things", { role: "admin", body: { name: "x".repeat(2000), size: 1 } });
    expect(big.status).toBe(413);
    expectSeedError(big.body, "PAYLOAD_TOO_LARGE");
  });

  it("hides a handler's bug behind a 500 without detail", async () => {
    const res = await call("POST", "/api/v1/things", { role: "admin", body: { name: "boom", size: 1 } });
    expect(res.status).toBe(500);
    expectSeedError(res.body, "INTERNAL_ERROR");
    expect(res.text).not.toContain("a bug");
  });

  it("audits mutating calls with actor, outcome and detail, and not reads", async () => {
    audit.length = 0;
    await call("GET", "/api/v1/things/abc", { role: "admin" });
    await call("POST", "/api/v1/things", { role: "ml_engineer", body: { name: "kept", size: 2 } });
    await call("POST", "/api/v1/things", { role: "viewer", body: { name: "nope", size: 2 } });
    await call("POST", "/api/v1/things", { role: "admin", body: { name: "boom", size: 2 } });
    expect(audit.map((e) => [e.action, e.actor.username, e.outcome, e.status])).toEqual([
      ["createThing", "ml_engineer", "success", 201],
      ["createThing", "viewer", "denied", 403],
      ["createThing", "admin", "failure", 500],
    ]);
    expect(audit[0].detail).toEqual({ name: "kept" });
    expect(audit[0].path).toBe("/api/v1/things");
  });

  it("counts calls per operation and status, refusals included", async () => {
    const text = await registry.metrics();
    expect(text).toMatch(/mlops_api_requests_total\{operation="createThing",status="403"\} [1-9]/);
    expect(text).toMatch(/mlops_api_requests_total\{operation="getThing",status="401"\} [1-9]/);
    expect(text).toMatch(/mlops_api_request_duration_seconds_count\{operation="createThing"\} [1-9]/);
  });

  it("limits per class and principal with the seed's headers and 429 body", async () => {
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push(await call("POST", "/api/v1/login", { body: { username: "u" } }));
    expect(seen.slice(0, 3).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(seen[0].headers.get("x-ratelimit-limit")).toBe("3");
    expect(seen[0].headers.get("x-ratelimit-remaining")).toBe("2");
    expect(seen[0].headers.get("x-ratelimit-window")).toBe("60");
    expect(Number(seen[0].headers.get("x-ratelimit-reset"))).toBeGreaterThan(Date.now() / 1000);
    const limited = seen[3];
    expect(limited.status).toBe(429);
    expectSeedError(limited.body, "RATE_LIMIT_EXCEEDED");
    expect(limited.body.error.details).toEqual({ limit: 3, window: 60, reset_time: expect.any(String) });
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    // Another class is counted apart.
    expect((await call("GET", "/api/v1/things/abc", { role: "viewer" })).status).toBe(200);
  });

  it("publishes an OpenAPI 3.1 document generated from the validating schemas", async () => {
    const res = await call("GET", "/api/v1/openapi.json");
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toBe("3.1.0");
    const get = doc.paths["/things/{id}"].get;
    expect(get["x-required-permission"]).toBe("read_models");
    expect(get.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "id", in: "path", required: true, schema: expect.objectContaining({ pattern: "^[a-z]+$" }) }),
        expect.objectContaining({ name: "limit", in: "query", required: false, schema: expect.objectContaining({ maximum: 10, default: 5 }) }),
      ]),
    );
    const post = doc.paths["/things"].post;
    expect(post.requestBody.content["application/json"].schema.required).toEqual(["name", "size"]);
    expect(Object.keys(post.responses).sort()).toEqual(["201", "401", "403", "422", "429"]);
    expect(doc.paths["/login"].post.security).toEqual([]);
    expect(doc.components.schemas.Error.properties.error.required).toEqual(["code", "message", "details", "timestamp", "request_id"]);
    expect(openApiProblems(doc)).toEqual({ version: "3.1", valid: true, errors: [] });
  });

  it("serves Swagger UI and ReDoc from the installed packages, no CDN", async () => {
    const docs = await call("GET", "/api/v1/docs");
    expect(docs.status).toBe(200);
    expect(docs.text).not.toMatch(/https?:\/\//);
    for (const asset of ["/api/v1/docs/assets/swagger-ui-bundle.js", "/api/v1/docs/assets/swagger-ui.css", "/api/v1/docs/init.js", "/api/v1/redoc/redoc.standalone.js"]) {
      const res = await fetch(`${base}${asset}`);
      expect([asset, res.status]).toEqual([asset, 200]);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(20);
    }
    const redoc = await call("GET", "/api/v1/redoc");
    expect(redoc.text).toContain('spec-url="/api/v1/openapi.json"');
    expect(redoc.text).not.toMatch(/https?:\/\//);
    expect((await fetch(`${base}/api/v1/docs/assets/index.html`)).status).toBe(404);
  });
});

describe("the fixed-window counter behind the rate limits", () => {
  it("counts per key within a window, starts a new window when it ends, and drops ended windows", () => {
    const counter = new FixedWindowCounter(60_000, 0);
    expect(counter.hit("a", 0)).toEqual({ count: 1, resetAt: 60_000 });
    expect(counter.hit("a", 59_999).count).toBe(2);
    expect(counter.hit("b", 30_000)).toEqual({ count: 1, resetAt: 90_000 });
    expect(counter.hit("a", 60_000)).toEqual({ count: 1, resetAt: 120_000 });
    expect(counter.size).toBe(2);
    // A window later, b's ended window goes on the next call (of anyone).
    counter.hit("c", 120_001);
    expect(counter.size).toBe(1);
  });
});
