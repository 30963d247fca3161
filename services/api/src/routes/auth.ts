/**
 * The seed's Authentication API:
 *   POST /auth/login {username, password} -> {access_token, token_type, expires_in, refresh_token, refresh_expires_in, user}
 *   POST /auth/refresh  (Authorization: Bearer <refresh_token>, or body {"refresh_token"}) -> a new pair;
 *        the presented token is used up; presenting it again revokes its session (401 REFRESH_TOKEN_REUSED)
 *   POST /auth/logout   (access token) -> {"logged_out": true}: the session's tokens stop working
 *   GET  /auth/me       -> who is calling, with the effective permissions
 * All in the `auth` rate class (10 a minute: per address before login, per principal after).
 *
 *   registerAuthRoutes(api, { identity })   // identity: createIdentity(...).routes.identity
 */
import express, { type Request, type Response } from "express";
import { z } from "zod";
import type { ApiRouter } from "../http/endpoint";
import { ApiError } from "../http/errors";
import { presentedPasswordSchema } from "../identity/passwords";
import { PERMISSIONS, ROLES } from "../identity/roles";
import type { IdentityService, TokenPair } from "../identity/service";
import { RefreshRefused } from "../identity/sessions";

export interface AuthRouteDeps {
  identity: Pick<IdentityService, "login" | "refresh" | "logout">;
}

const tokenPairSchema = z.object({
  access_token: z.string().describe("JWT (HS256), sent as Authorization: Bearer <access_token>"),
  token_type: z.literal("bearer"),
  expires_in: z.number().int().describe("seconds"),
  refresh_token: z.string().describe("single use: POST /auth/refresh returns the next one"),
  refresh_expires_in: z.number().int().describe("seconds"),
  user: z.object({ id: z.number().int(), username: z.string(), role: z.enum(ROLES) }),
});

function pairBody(p: TokenPair): z.infer<typeof tokenPairSchema> {
  return {
    access_token: p.accessToken,
    token_type: "bearer",
    expires_in: p.expiresIn,
    refresh_token: p.refreshToken,
    refresh_expires_in: p.refreshExpiresIn,
    user: { id: p.user.id, username: p.user.username, role: p.user.role },
  };
}

/** Answers carrying tokens must not be kept by caches or proxies. */
const NO_STORE = { "cache-control": "no-store" };

const REFRESH_BODY_LIMIT = "4kb";
const optionalJson = express.json({ limit: REFRESH_BODY_LIMIT, type: () => true, strict: true });

/**
 * The refresh token from the header (the seed's way) or from a JSON body. The body is read here, not
 * declared on the endpoint, because the seed's call has no body and a declared one would be required.
 */
async function presentedRefreshToken(req: Request, res: Response): Promise<string> {
  const header = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
  if (header) return header[1];
  await new Promise<void>((resolve, reject) =>
    optionalJson(req, res, (err?: unknown) => {
      if (!err) return resolve();
      const status = (err as { status?: number }).status === 413 ? 413 : 400;
      reject(new ApiError(status, status === 413 ? "PAYLOAD_TOO_LARGE" : "INVALID_JSON", status === 413 ? `the body exceeds ${REFRESH_BODY_LIMIT}` : "the body is not valid JSON"));
    }),
  );
  const token = (req.body as { refresh_token?: unknown } | undefined)?.refresh_token;
  if (typeof token === "string" && token) return token;
  throw new ApiError(401, "INVALID_TOKEN", "no refresh token: send Authorization: Bearer <refresh_token> or {\"refresh_token\": \"...\"}", {}, { "www-authenticate": 'Bearer realm="mlops-api"' });
}

export function registerAuthRoutes(api: ApiRouter, deps: AuthRouteDeps): void {
  const { identity } = deps;

  api.endpoint({
    method: "post",
    path: "/auth/login",
    operationId: "login",
    summary: "Log in with a username and password",
    tag: "auth",
    access: "public",
    rateClass: "auth",
    body: z.object({
      username: z.string().min(1).max(128).meta({ example: "user@example.com" }),
      password: presentedPasswordSchema,
    }),
    responses: { 200: { description: "tokens", schema: tokenPairSchema }, 401: { description: "wrong username or password, or a deactivated user (INVALID_CREDENTIALS)" } },
    handler: async ({ body, auditActor }) => {
      auditActor(body.username);
      return { headers: NO_STORE, body: pairBody(await identity.login(body.username, body.password)) };
    },
  });

  api.endpoint({
    method: "post",
    path: "/auth/refresh",
    operationId: "refreshToken",
    summary: "Exchange a refresh token for new tokens",
    description:
      'Send the refresh token as `Authorization: Bearer <refresh_token>` (or as a JSON body `{"refresh_token": "..."}`). Each refresh token works once; presenting a used one revokes its whole session (401 REFRESH_TOKEN_REUSED).',
    tag: "auth",
    access: "public",
    rateClass: "auth",
    responses: { 200: { description: "new tokens", schema: tokenPairSchema }, 401: { description: "an invalid, expired or ended refresh token (INVALID_TOKEN), or a reused one (REFRESH_TOKEN_REUSED)" } },
    handler: async ({ req, res, auditActor, auditDetail }) => {
      try {
        const pair = await identity.refresh(await presentedRefreshToken(req, res));
        auditActor(pair.user.username);
        return { headers: NO_STORE, body: pairBody(pair) };
      } catch (err) {
        if (err instanceof RefreshRefused) {
          if (err.username) auditActor(err.username);
          auditDetail({ refused: err.code, reason: err.message, ...(err.sessionId ? { session_id: err.sessionId } : {}) });
        }
        throw err;
      }
    },
  });

  api.endpoint({
    method: "post",
    path: "/auth/logout",
    operationId: "logout",
    summary: "End the session of the access token",
    tag: "auth",
    access: "authenticated",
    rateClass: "auth",
    responses: { 200: { description: "logged out", schema: z.object({ logged_out: z.literal(true) }) } },
    handler: async ({ principal, auditDetail }) => {
      if (!principal!.sessionId) throw new ApiError(400, "NO_SESSION", "an API key has no session to log out of: revoke the key instead (DELETE /users/{id}/api-keys/{key_id})");
      await identity.logout(principal!.sessionId);
      auditDetail({ session_id: principal!.sessionId });
      return { body: { logged_out: true } };
    },
  });

  api.endpoint({
    method: "get",
    path: "/auth/me",
    operationId: "whoAmI",
    summary: "Who is calling",
    tag: "auth",
    access: "authenticated",
    rateClass: "auth",
    responses: {
      200: {
        description: "the caller",
        schema: z.object({
          id: z.number().int(),
          username: z.string(),
          role: z.enum(ROLES),
          permissions: z.array(z.enum(PERMISSIONS)).describe("the role's and the granted ones"),
          kind: z.enum(["user", "api_key"]),
          key_id: z.string().optional(),
        }),
      },
    },
    handler: ({ principal }) => {
      const p = principal!;
      return { body: { id: p.userId, username: p.username, role: p.role, permissions: PERMISSIONS.filter((x) => p.permissions.has(x)), kind: p.kind, ...(p.keyId ? { key_id: p.keyId } : {}) } };
    },
  });
}
