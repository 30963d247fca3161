/**
 * User management (the seed's User Management API) and API keys of users, all behind manage_users:
 *   GET  /users ?skip&limit            -> {users, total}
 *   POST /users {username, password, role, permissions?}  -> 201 the user (409 USER_EXISTS)
 *   GET  /users/{id}                   -> the user
 *   PUT  /users/{id} {role?, permissions?, is_active?, password?} -> the user; deactivating or a new
 *        password revokes the user's sessions; the last active admin cannot be deactivated or demoted (409 LAST_ADMIN)
 *   POST /users/{id}/api-keys {name}   -> 201 {id, name, key, created_at}: the key is shown only here
 *   GET  /users/{id}/api-keys          -> {api_keys: [{id, name, created_at, revoked_at}]}
 *   DELETE /users/{id}/api-keys/{key_id} -> 204
 * `permissions` of a user are those granted on top of the role's (GET /auth/me shows the effective set).
 *
 *   registerUserRoutes(api, { identity })   // identity: createIdentity(...).routes.identity
 */
import { z } from "zod";
import type { ApiRouter } from "../http/endpoint";
import type { ApiKeyInfo } from "../identity/api-keys";
import { newPasswordSchema } from "../identity/passwords";
import { PERMISSIONS, ROLES } from "../identity/roles";
import type { IdentityService } from "../identity/service";
import type { User } from "../identity/users";

export interface UserRouteDeps {
  identity: Pick<IdentityService, "listUsers" | "getUser" | "createUser" | "updateUser" | "createApiKey" | "listApiKeys" | "revokeApiKey">;
}

export const roleSchema = z.enum(ROLES, { error: (iss) => `unknown role ${JSON.stringify(iss.input)}: expected one of ${ROLES.join(", ")}` }).meta({ example: "data_scientist" });
export const permissionSchema = z.enum(PERMISSIONS, { error: (iss) => `unknown permission ${JSON.stringify(iss.input)}: expected one of ${PERMISSIONS.join(", ")}` });

/** skip/limit of a listing (at most 1000 a page). */
export const pageQuery = z.object({
  skip: z.coerce.number().int().min(0).default(0).describe("entries to skip"),
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe("entries to return, at most 1000"),
});

const userIdParams = z.object({ id: z.coerce.number().int().positive().describe("the user's id") });

const usernameSchema = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .regex(/^[^\s\p{Cc}]+$/u, "no spaces or control characters")
  .meta({ example: "jane.smith@company.com" });

export const userSchema = z.object({
  id: z.number().int(),
  username: z.string(),
  role: z.enum(ROLES),
  permissions: z.array(z.enum(PERMISSIONS)).describe("granted on top of the role's"),
  is_active: z.boolean(),
  created_at: z.iso.datetime(),
  last_login: z.iso.datetime().nullable(),
});

export function userBody(u: User): z.infer<typeof userSchema> {
  return {
    id: u.id,
    username: u.username,
    role: u.role,
    permissions: u.permissions,
    is_active: u.isActive,
    created_at: u.createdAt.toISOString(),
    last_login: u.lastLogin?.toISOString() ?? null,
  };
}

const apiKeySchema = z.object({ id: z.string(), name: z.string(), created_at: z.iso.datetime(), revoked_at: z.iso.datetime().nullable() });

const apiKeyBody = (k: ApiKeyInfo) => ({ id: k.id, name: k.name, created_at: k.createdAt.toISOString(), revoked_at: k.revokedAt?.toISOString() ?? null });

/** Answers carrying a secret must not be kept by caches or proxies. */
const NO_STORE = { "cache-control": "no-store" };

export function registerUserRoutes(api: ApiRouter, deps: UserRouteDeps): void {
  const { identity } = deps;
  const common = { tag: "users", access: "manage_users", rateClass: "admin" } as const;

  api.endpoint({
    ...common,
    method: "get",
    path: "/users",
    operationId: "listUsers",
    summary: "List users",
    query: pageQuery,
    responses: { 200: { description: "a page of users, by id", schema: z.object({ users: z.array(userSchema), total: z.number().int() }) } },
    handler: async ({ query }) => {
      const { users, total } = await identity.listUsers(query.skip, query.limit);
      return { body: { users: users.map(userBody), total } };
    },
  });

  api.endpoint({
    ...common,
    method: "post",
    path: "/users",
    operationId: "createUser",
    summary: "Create a user",
    body: z.object({
      username: usernameSchema,
      password: newPasswordSchema.describe("at least 12 characters, at most 1024 bytes"),
      role: roleSchema,
      permissions: z.array(permissionSchema).default([]).describe("granted on top of the role's"),
    }),
    responses: { 201: { description: "the user", schema: userSchema }, 409: { description: "a user of that name exists (USER_EXISTS)" } },
    handler: async ({ body, auditDetail }) => {
      auditDetail({ username: body.username, role: body.role, permissions: body.permissions });
      const user = await identity.createUser(body);
      auditDetail({ user_id: user.id });
      return { status: 201, body: userBody(user) };
    },
  });

  api.endpoint({
    ...common,
    method: "get",
    path: "/users/{id}",
    operationId: "getUser",
    summary: "A user",
    params: userIdParams,
    responses: { 200: { description: "the user", schema: userSchema }, 404: { description: "no such user (USER_NOT_FOUND)" } },
    handler: async ({ params }) => ({ body: userBody(await identity.getUser(params.id)) }),
  });

  api.endpoint({
    ...common,
    method: "put",
    path: "/users/{id}",
    operationId: "updateUser",
    summary: "Change a user's role, permissions, state or password",
    description: "Deactivating a user or setting a password revokes the user's sessions. The last active admin cannot be deactivated or demoted (409 LAST_ADMIN).",
    params: userIdParams,
    body: z
      .object({
        role: roleSchema.optional(),
        permissions: z.array(permissionSchema).optional().describe("replaces the granted permissions"),
        is_active: z.boolean().optional(),
        password: newPasswordSchema.optional(),
      })
      .strict()
      .refine((b) => Object.values(b).some((v) => v !== undefined), "give at least one of role, permissions, is_active, password"),
    responses: { 200: { description: "the user", schema: userSchema }, 404: { description: "no such user (USER_NOT_FOUND)" }, 409: { description: "the last active admin (LAST_ADMIN)" } },
    handler: async ({ params, body, auditDetail }) => {
      auditDetail({ changed: Object.keys(body).filter((k) => body[k as keyof typeof body] !== undefined) });
      const { user, sessionsRevoked } = await identity.updateUser(params.id, { role: body.role, permissions: body.permissions, isActive: body.is_active, password: body.password });
      auditDetail({ sessions_revoked: sessionsRevoked });
      return { body: userBody(user) };
    },
  });

  api.endpoint({
    ...common,
    method: "post",
    path: "/users/{id}/api-keys",
    operationId: "createApiKey",
    summary: "Create an API key acting as the user",
    description: "The key is in this answer only; the API keeps a hash of it.",
    params: userIdParams,
    body: z.object({ name: z.string().trim().min(1).max(100).describe("what the key is for").meta({ example: "batch-scoring-job" }) }),
    responses: { 201: { description: "the key", schema: z.object({ id: z.string(), name: z.string(), key: z.string().describe("mlops_<id>_<secret>; shown once"), created_at: z.iso.datetime() }) } },
    handler: async ({ params, body, auditDetail }) => {
      const created = await identity.createApiKey(params.id, body.name);
      auditDetail({ key_id: created.id, name: created.name });
      return { status: 201, headers: NO_STORE, body: { id: created.id, name: created.name, key: created.key, created_at: created.createdAt.toISOString() } };
    },
  });

  api.endpoint({
    ...common,
    method: "get",
    path: "/users/{id}/api-keys",
    operationId: "listApiKeys",
    summary: "The user's API keys (without secrets)",
    params: userIdParams,
    responses: { 200: { description: "the keys, oldest first", schema: z.object({ api_keys: z.array(apiKeySchema) }) } },
    handler: async ({ params }) => ({ body: { api_keys: (await identity.listApiKeys(params.id)).map(apiKeyBody) } }),
  });

  api.endpoint({
    ...common,
    method: "delete",
    path: "/users/{id}/api-keys/{key_id}",
    operationId: "revokeApiKey",
    summary: "Revoke an API key",
    params: userIdParams.extend({ key_id: z.string().regex(/^[0-9a-f]{16}$/, "expected the key's 16-hex-digit id") }),
    responses: { 204: { description: "revoked" }, 404: { description: "the user has no such key (API_KEY_NOT_FOUND)" } },
    handler: async ({ params }) => {
      await identity.revokeApiKey(params.id, params.key_id);
      return { status: 204 };
    },
  });
}
