/**
 * Identity of the platform API: users and roles, passwords (scrypt), access tokens (JWT HS256),
 * sessions with rotating refresh tokens, API keys for machines, the audit log, the first admin.
 *
 * Wiring (app.ts), after the pool is up:
 *
 *   await runMigrations(pool, [...IDENTITY_MIGRATIONS, ...otherMigrations], { lockName: "mlops_api.migrations" });
 *   await ensureFirstAdmin(pool, { username: e.ADMIN_USERNAME, password: e.ADMIN_PASSWORD });
 *   const identity = createIdentity({ pool, env: e });
 *   const shell = createApiShell({
 *     logger, bodyLimitBytes: e.MAX_BODY_BYTES,
 *     authenticator: identity.authenticator, audit: identity.audit,
 *     register: (api) => {
 *       registerAuthRoutes(api, identity.routes);
 *       registerUserRoutes(api, identity.routes);
 *       registerAuditRoutes(api, identity.routes);
 *       ...
 *     },
 *   });
 *
 * IDENTITY_MIGRATIONS are versions 1..9 of the API database's schema_migrations (10+ are the batch jobs').
 */
import type { Pool } from "pg";
import type { ApiEnv } from "../env";
import { ApiKeyStore } from "./api-keys";
import { PostgresAuditLog } from "./audit-log";
import { IdentityAuthenticator } from "./authenticator";
import { PasswordHasher } from "./passwords";
import { IdentityService } from "./service";
import { SessionStore } from "./sessions";
import { AccessTokens } from "./tokens";
import { UserStore } from "./users";

export { ensureFirstAdmin } from "./first-admin";
export { IDENTITY_MIGRATIONS } from "./schema";
export { PostgresAuditLog } from "./audit-log";
export { IdentityAuthenticator } from "./authenticator";
export { IdentityService } from "./service";
export { PasswordHasher } from "./passwords";
export { SessionHousekeeping, sweepGraceS } from "./housekeeping";

export type IdentityEnv = Pick<ApiEnv, "ENVIRONMENT" | "JWT_SIGNING_KEY" | "ACCESS_TOKEN_TTL_S" | "REFRESH_TOKEN_TTL_S">;

export interface Identity {
  authenticator: IdentityAuthenticator;
  audit: PostgresAuditLog;
  /** Sessions and refresh tokens (their housekeeping: housekeeping.ts). */
  sessions: SessionStore;
  /** What registerAuthRoutes, registerUserRoutes and registerAuditRoutes need. */
  routes: { identity: IdentityService; auditLog: PostgresAuditLog };
}

/** `hasher` only for tests (cheaper scrypt parameters); production uses the defaults. */
export function createIdentity(opts: { pool: Pool; env: IdentityEnv; hasher?: PasswordHasher }): Identity {
  const { pool, env } = opts;
  const tokens = new AccessTokens(env.JWT_SIGNING_KEY, env.ACCESS_TOKEN_TTL_S);
  const sessions = new SessionStore(pool, env.REFRESH_TOKEN_TTL_S);
  const keys = new ApiKeyStore(pool);
  const authenticator = new IdentityAuthenticator({ tokens, sessions, keys, environment: env.ENVIRONMENT });
  const audit = new PostgresAuditLog(pool);
  const identity = new IdentityService({
    users: new UserStore(pool),
    sessions,
    keys,
    tokens,
    hasher: opts.hasher ?? new PasswordHasher(),
    authenticator,
    refreshTtlS: env.REFRESH_TOKEN_TTL_S,
  });
  return { authenticator, audit, sessions, routes: { identity, auditLog: audit } };
}
