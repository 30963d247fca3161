/**
 * The identity tests' platform API: the real shell (createApiShell) with the identity routes, the real
 * authenticator and audit log on a migrated test database, served over HTTP on an ephemeral port.
 *
 *   const db = useTestDatabase("identity");
 *   const api = await startIdentityApi(db.url, { admin: { username: "root", password: ADMIN_PASSWORD } });
 *   const res = await api.call("GET", "/users", { token: await api.login("root", ADMIN_PASSWORD) });
 */
import { createHmac } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createPool, runMigrations, type Logger } from "@mlops/common";
import pino from "pino";
import type { Pool } from "pg";
import { createApiShell } from "../../../services/api/src/http/shell";
import type { RateClass } from "../../../services/api/src/http/rate-limit";
import { createIdentity, ensureFirstAdmin, IDENTITY_MIGRATIONS, type Identity, type IdentityEnv } from "../../../services/api/src/identity";
import { registerAuditRoutes } from "../../../services/api/src/routes/audit";
import { registerAuthRoutes } from "../../../services/api/src/routes/auth";
import { registerUserRoutes } from "../../../services/api/src/routes/users";

export const SIGNING_KEY = "test-signing-key-0123456789-0123456789-abcdef";
export const ADMIN = { username: "root", password: "root-password-0123" };

/** Limits high enough that the tests' own calls are never limited (the rate limit test sets its own). */
export const GENEROUS_LIMITS: Record<RateClass, number> = { auth: 10_000, models: 10_000, predictions: 10_000, drift: 10_000, admin: 10_000 };

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export interface CallOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface IdentityApi {
  base: string;
  pool: Pool;
  identity: Identity;
  env: IdentityEnv;
  /** Every log line the API wrote (debug level and up). */
  logText(): string;
  call(method: string, path: string, opts?: CallOptions): Promise<Reply>;
  /** Logs in; fails the test unless it succeeds. Returns the whole answer's body. */
  loginPair(username: string, password: string): Promise<{ access_token: string; refresh_token: string; user: { id: number } }>;
  login(username: string, password: string): Promise<string>;
  close(): Promise<void>;
}

export async function applyIdentitySchema(pool: Pool): Promise<void> {
  await runMigrations(pool, IDENTITY_MIGRATIONS, { lockName: "mlops_api.migrations" });
}

export async function startIdentityApi(
  databaseUrl: string,
  opts: { env?: Partial<IdentityEnv>; rateLimits?: Record<RateClass, number>; admin?: { username: string; password: string } } = {},
): Promise<IdentityApi> {
  const lines: string[] = [];
  const logger: Logger = pino({ level: "debug" }, { write: (line: string) => void lines.push(line) });
  const pool = createPool(databaseUrl, 5, logger, "mlops-api-test");
  await applyIdentitySchema(pool);
  if (opts.admin) await ensureFirstAdmin(pool, opts.admin);
  const env: IdentityEnv = { ENVIRONMENT: "dev", JWT_SIGNING_KEY: SIGNING_KEY, ACCESS_TOKEN_TTL_S: 900, REFRESH_TOKEN_TTL_S: 3600, ...opts.env };
  const identity = createIdentity({ pool, env });
  const shell = createApiShell({
    logger,
    bodyLimitBytes: 64 * 1024,
    authenticator: identity.authenticator,
    audit: identity.audit,
    rateLimits: opts.rateLimits ?? GENEROUS_LIMITS,
    register: (api) => {
      registerAuthRoutes(api, identity.routes);
      registerUserRoutes(api, identity.routes);
      registerAuditRoutes(api, identity.routes);
    },
  });
  const server = http.createServer(shell.app);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;

  const call = async (method: string, path: string, o: CallOptions = {}): Promise<Reply> => {
    const res = await fetch(base + path, {
      method,
      headers: { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...(o.body !== undefined ? { "content-type": "application/json" } : {}), ...o.headers },
      body: o.body === undefined ? undefined : typeof o.body === "string" ? o.body : JSON.stringify(o.body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, body: text && res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : undefined };
  };
  const loginPair = async (username: string, password: string) => {
    const res = await call("POST", "/auth/login", { body: { username, password } });
    if (res.status !== 200) throw new Error(`login of ${username} failed: ${res.status} ${res.text}`);
    return res.body;
  };
  return {
    base,
    pool,
    identity,
    env,
    logText: () => lines.join(""),
    call,
    loginPair,
    login: async (u, p) => (await loginPair(u, p)).access_token,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await pool.end();
    },
  };
}

/** The seed's error body with this code. */
export function expectApiError(reply: Reply, status: number, code: string): void {
  expect({ status: reply.status, code: reply.body?.error?.code }).toEqual({ status, code });
  expect(reply.body.error).toEqual({ code, message: expect.any(String), details: expect.any(Object), timestamp: expect.any(String), request_id: expect.any(String) });
}

export async function countRows(pool: Pool, table: "users" | "api_keys" | "sessions" | "audit_log"): Promise<number> {
  return (await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;
}

/** The claims of a JWT, read without checking it (node's own base64url, independent of the API's library). */
export function decodeJwtClaims(token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
}

/** A JWT signed HS256 by hand: tokens the API did not issue (expired, other key, other audience). */
export function signHs256(claims: Record<string, unknown>, key: string): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const unsigned = `${part({ alg: "HS256", typ: "JWT" })}.${part(claims)}`;
  return `${unsigned}.${createHmac("sha256", key).update(unsigned).digest("base64url")}`;
}
