/**
 * API keys of machines: each acts as its user (role and permissions). The whole key is shown once, at
 * creation; the table keeps the sha256 of its secret part (tokens.ts), so a database leak gives no key.
 */
import type { Pool } from "pg";
import { ApiError } from "../http/errors";
import { newApiKey } from "./tokens";
import { USER_COLUMNS, userNotFound, userOf, type User, type UserRow } from "./users";

export interface ApiKeyInfo {
  id: string;
  name: string;
  createdAt: Date;
  revokedAt: Date | null;
}

export const apiKeyNotFound = (userId: number, keyId: string) =>
  new ApiError(404, "API_KEY_NOT_FOUND", `user ${userId} has no API key ${keyId}`, { user_id: userId, key_id: keyId });

export class ApiKeyStore {
  constructor(private readonly pool: Pool) {}

  async create(userId: number, name: string): Promise<ApiKeyInfo & { key: string }> {
    const fresh = newApiKey();
    const { rows } = await this.pool.query<{ created_at: Date }>(
      // Inserting only for an existing user tells "no such user" apart without a second round trip.
      "INSERT INTO api_keys (id, user_id, name, secret_hash) SELECT $1, id, $3, $4 FROM users WHERE id = $2 RETURNING created_at",
      [fresh.keyId, userId, name, fresh.secretHash],
    );
    if (!rows[0]) throw userNotFound(userId);
    return { id: fresh.keyId, name, createdAt: rows[0].created_at, revokedAt: null, key: fresh.key };
  }

  async list(userId: number): Promise<ApiKeyInfo[]> {
    const { rows } = await this.pool.query<{ id: string; name: string; created_at: Date; revoked_at: Date | null }>(
      "SELECT id, name, created_at, revoked_at FROM api_keys WHERE user_id = $1 ORDER BY created_at, id",
      [userId],
    );
    if (!rows.length && !(await this.pool.query("SELECT 1 FROM users WHERE id = $1", [userId])).rowCount) throw userNotFound(userId);
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at, revokedAt: r.revoked_at }));
  }

  /** Revokes the key (idempotent); 404 when the user has no such key. */
  async revoke(userId: number, keyId: string): Promise<void> {
    const { rowCount } = await this.pool.query("UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND user_id = $2", [keyId, userId]);
    if (!rowCount) throw apiKeyNotFound(userId, keyId);
  }

  /** The stored hash of a live key and its user; undefined for an unknown or revoked key. */
  async lookup(keyId: string): Promise<{ secretHash: Buffer; user: User } | undefined> {
    const { rows } = await this.pool.query<UserRow & { secret_hash: Buffer }>(
      `SELECT k.secret_hash, ${USER_COLUMNS} FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.id = $1 AND k.revoked_at IS NULL`,
      [keyId],
    );
    return rows[0] && { secretHash: rows[0].secret_hash, user: userOf(rows[0]) };
  }
}
