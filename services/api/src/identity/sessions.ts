/**
 * Sessions and their refresh tokens. A login starts a session with its first refresh token; each refresh
 * uses the presented token up and issues the next (rotation). A used token presented again means it was
 * copied: the whole session is revoked (its refresh tokens and, through the authenticator's liveness
 * check, its access tokens) and the caller gets 401 REFRESH_TOKEN_REUSED. Two concurrent refreshes with
 * one token are serialised by a row lock, so the second is that reuse.
 */
import { randomUUID } from "node:crypto";
import { inTransaction } from "@mlops/common";
import type { Pool, PoolClient } from "pg";
import { ApiError } from "../http/errors";
import { newRefreshToken, REFRESH_PREFIX, sha256 } from "./tokens";
import { USER_COLUMNS, userOf, type User, type UserRow } from "./users";

export interface IssuedRefresh {
  sessionId: string;
  refreshToken: string;
}

/** Why refreshing failed, for the audit entry (the answer itself is a 401). */
export class RefreshRefused extends ApiError {
  constructor(
    code: "INVALID_TOKEN" | "REFRESH_TOKEN_REUSED",
    message: string,
    readonly username?: string,
    readonly sessionId?: string,
  ) {
    super(401, code, message, {}, { "www-authenticate": 'Bearer realm="mlops-api"' });
  }
}

export class SessionStore {
  constructor(
    private readonly pool: Pool,
    private readonly refreshTtlS: number,
  ) {}

  async start(userId: number): Promise<IssuedRefresh> {
    const sessionId = randomUUID();
    return inTransaction(this.pool, async (client) => {
      await client.query("INSERT INTO sessions (id, user_id) VALUES ($1, $2)", [sessionId, userId]);
      return { sessionId, refreshToken: await this.issue(client, sessionId) };
    });
  }

  /** The next refresh token of the presented one's session, and whose session it is. */
  async rotate(refreshToken: string): Promise<IssuedRefresh & { user: User }> {
    if (!refreshToken.startsWith(REFRESH_PREFIX)) throw new RefreshRefused("INVALID_TOKEN", "the refresh token is invalid");
    const outcome = await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<UserRow & { session_id: string; used_at: Date | null; expired: boolean; revoked_at: Date | null }>(
        `SELECT rt.session_id, rt.used_at, rt.expires_at < now() AS expired, s.revoked_at, ${USER_COLUMNS}
           FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id JOIN users u ON u.id = s.user_id
          WHERE rt.token_hash = $1 FOR UPDATE OF rt, s`,
        [sha256(refreshToken)],
      );
      const row = rows[0];
      if (!row) return new RefreshRefused("INVALID_TOKEN", "the refresh token is invalid");
      const user = userOf(row);
      if (row.revoked_at) return new RefreshRefused("INVALID_TOKEN", "the refresh token's session has ended (logged out or revoked): log in again", user.username, row.session_id);
      if (row.used_at) {
        await revokeSession(client, row.session_id, "refresh token reused");
        return new RefreshRefused("REFRESH_TOKEN_REUSED", "this refresh token was already used: its session is revoked, log in again", user.username, row.session_id);
      }
      if (row.expired) return new RefreshRefused("INVALID_TOKEN", "the refresh token has expired: log in again", user.username, row.session_id);
      if (!user.isActive) return new RefreshRefused("INVALID_TOKEN", "the user is deactivated", user.username, row.session_id);
      await client.query("UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1", [sha256(refreshToken)]);
      return { user, sessionId: row.session_id, refreshToken: await this.issue(client, row.session_id) };
    });
    // Refusals are answered after the commit, so a detected reuse stays revoked.
    if (outcome instanceof RefreshRefused) throw outcome;
    return outcome;
  }

  /** Whether it was live. */
  async revoke(sessionId: string, reason: string): Promise<boolean> {
    return revokeSession(this.pool, sessionId, reason);
  }

  /** The session's user, when the session is live (not revoked); undefined otherwise. */
  async liveUser(sessionId: string): Promise<User | undefined> {
    const { rows } = await this.pool.query<UserRow>(`SELECT ${USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1 AND s.revoked_at IS NULL`, [sessionId]);
    return rows[0] && userOf(rows[0]);
  }

  /**
   * Forgets what can no longer matter: refresh tokens that expired more than `graceS` ago (used or
   * not: an expired token is refused either way, so its reuse needs no detecting), then sessions older
   * than `graceS` with no refresh token left. A live session always holds its latest token, and every
   * access token of a session was issued before its last refresh token expired, so with `graceS` at
   * least the access tokens' lifetime no valid token loses its session.
   */
  async sweep(graceS: number): Promise<{ refreshTokens: number; sessions: number }> {
    const tokens = await this.pool.query("DELETE FROM refresh_tokens WHERE expires_at < now() - make_interval(secs => $1)", [graceS]);
    const sessions = await this.pool.query(
      `DELETE FROM sessions s
        WHERE s.created_at < now() - make_interval(secs => $1)
          AND NOT EXISTS (SELECT 1 FROM refresh_tokens rt WHERE rt.session_id = s.id)`,
      [graceS],
    );
    return { refreshTokens: tokens.rowCount ?? 0, sessions: sessions.rowCount ?? 0 };
  }

  private async issue(client: PoolClient, sessionId: string): Promise<string> {
    const token = newRefreshToken();
    await client.query("INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))", [sha256(token), sessionId, this.refreshTtlS]);
    return token;
  }
}

async function revokeSession(db: Pool | PoolClient, sessionId: string, reason: string): Promise<boolean> {
  const { rowCount } = await db.query("UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL", [sessionId, reason]);
  return (rowCount ?? 0) > 0;
}
