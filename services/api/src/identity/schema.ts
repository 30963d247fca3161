/**
 * The identity tables of the API's database, as migrations 1..9 of the API's `schema_migrations`
 * (versions 10 and above belong to the batch jobs). Applied with common's runMigrations; never edit a
 * released migration, add the next one.
 *
 * - users: usernames are unique ignoring case (an index on lower(username)), so `Alice` cannot be
 *   registered next to `alice`; `permissions` are granted on top of the role's.
 * - sessions: one per login; revoking it (logout, refresh token reuse, deactivation, password change)
 *   ends its refresh tokens and, through the authenticator's liveness check, its access tokens.
 * - refresh_tokens, api_keys: sha256 of the secret only (tokens.ts says why a fast hash is right).
 * - audit_log: who did what, when, with which outcome; actors are copied, not referenced, so an entry
 *   outlives its user.
 */
import type { Migration } from "@mlops/common";

export const IDENTITY_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "users",
    sql: `
CREATE TABLE users (
  id            bigserial PRIMARY KEY,
  username      text NOT NULL CHECK (length(username) BETWEEN 1 AND 128),
  password_hash text NOT NULL,
  role          text NOT NULL CHECK (role IN ('admin', 'ml_engineer', 'data_scientist', 'viewer')),
  permissions   text[] NOT NULL DEFAULT '{}',
  is_active     boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  last_login    timestamptz
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
`,
  },
  {
    version: 2,
    name: "sessions and refresh tokens",
    sql: `
CREATE TABLE sessions (
  id             uuid PRIMARY KEY,
  user_id        bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at     timestamptz NOT NULL DEFAULT now(),
  revoked_at     timestamptz,
  revoked_reason text
);
CREATE INDEX sessions_live_by_user ON sessions (user_id) WHERE revoked_at IS NULL;

CREATE TABLE refresh_tokens (
  token_hash bytea PRIMARY KEY,
  session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  issued_at  timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at    timestamptz
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);
`,
  },
  {
    version: 3,
    name: "api keys",
    sql: `
CREATE TABLE api_keys (
  id          text PRIMARY KEY,
  user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  name        text NOT NULL,
  secret_hash bytea NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);
CREATE INDEX api_keys_by_user ON api_keys (user_id);
`,
  },
  {
    version: 4,
    name: "audit log",
    sql: `
CREATE TABLE audit_log (
  id             bigserial PRIMARY KEY,
  at             timestamptz NOT NULL,
  actor_kind     text NOT NULL,
  actor_user_id  bigint,
  actor_username text,
  actor_key_id   text,
  action         text NOT NULL,
  method         text NOT NULL,
  path           text NOT NULL,
  target         jsonb NOT NULL DEFAULT '{}',
  outcome        text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
  status         integer NOT NULL,
  request_id     text NOT NULL,
  detail         jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_by_time ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_by_actor ON audit_log (lower(actor_username), at DESC);
CREATE INDEX audit_log_by_action ON audit_log (action, at DESC);
`,
  },
];
