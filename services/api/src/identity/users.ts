/**
 * The users table: reads, creation, changes. A change that ends a user's access (deactivation, new
 * password) revokes their sessions in the same transaction, and no change may leave the platform without
 * an active admin (checked under an advisory lock, so two admins demoting each other at once cannot both
 * succeed).
 */
import { inTransaction } from "@mlops/common";
import type { Pool, PoolClient } from "pg";
import { ApiError } from "../http/errors";
import { permissionsOf, type Environment, type Permission, type Principal, type Role } from "./roles";

export interface User {
  id: number;
  username: string;
  role: Role;
  /** Granted on top of the role's. */
  permissions: Permission[];
  isActive: boolean;
  createdAt: Date;
  updatedAt: Date;
  lastLogin: Date | null;
}

export interface UserChanges {
  role?: Role;
  permissions?: Permission[];
  isActive?: boolean;
  /** Already hashed. */
  passwordHash?: string;
}

/** The columns of a user, as every query selects them (`u.` prefix, so joins can use it too). */
export const USER_COLUMNS = "u.id, u.username, u.role, u.permissions, u.is_active, u.created_at, u.updated_at, u.last_login";

export interface UserRow {
  id: string;
  username: string;
  role: Role;
  permissions: Permission[];
  is_active: boolean;
  created_at: Date;
  updated_at: Date;
  last_login: Date | null;
}

export function userOf(row: UserRow): User {
  return {
    id: Number(row.id),
    username: row.username,
    role: row.role,
    permissions: row.permissions,
    isActive: row.is_active,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastLogin: row.last_login,
  };
}

/** What the user may do: the role's permissions in this environment and the extra ones granted. */
export function principalOf(user: Pick<User, "id" | "username" | "role" | "permissions">, environment: Environment, via: Pick<Principal, "kind" | "sessionId" | "keyId">): Principal {
  return {
    ...via,
    userId: user.id,
    username: user.username,
    role: user.role,
    permissions: new Set<Permission>([...permissionsOf(user.role, environment), ...user.permissions]),
  };
}

export const userNotFound = (id: number) => new ApiError(404, "USER_NOT_FOUND", `user ${id} not found`, { user_id: id });

const ADMINS_LOCK = "mlops_api.active_admins";
const UNIQUE_VIOLATION = "23505";

export class UserStore {
  constructor(private readonly pool: Pool) {}

  async list(skip: number, limit: number): Promise<{ users: User[]; total: number }> {
    const [page, count] = await Promise.all([
      this.pool.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users u ORDER BY u.id LIMIT $1 OFFSET $2`, [limit, skip]),
      this.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM users"),
    ]);
    return { users: page.rows.map(userOf), total: count.rows[0].n };
  }

  async get(id: number): Promise<User> {
    const { rows } = await this.pool.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.id = $1`, [id]);
    if (!rows[0]) throw userNotFound(id);
    return userOf(rows[0]);
  }

  /** The user a login names (case-insensitively), with the password hash to check. */
  async findForLogin(username: string): Promise<(User & { passwordHash: string }) | undefined> {
    const { rows } = await this.pool.query<UserRow & { password_hash: string }>(`SELECT ${USER_COLUMNS}, u.password_hash FROM users u WHERE lower(u.username) = lower($1)`, [username]);
    return rows[0] && { ...userOf(rows[0]), passwordHash: rows[0].password_hash };
  }

  async create(user: { username: string; passwordHash: string; role: Role; permissions: Permission[] }, db: Pool | PoolClient = this.pool): Promise<User> {
    try {
      const { rows } = await db.query<UserRow>(
        `INSERT INTO users AS u (username, password_hash, role, permissions) VALUES ($1, $2, $3, $4) RETURNING ${USER_COLUMNS}`,
        [user.username, user.passwordHash, user.role, user.permissions],
      );
      return userOf(rows[0]);
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE_VIOLATION) {
        throw new ApiError(409, "USER_EXISTS", `a user named ${JSON.stringify(user.username)} already exists (names are compared ignoring case)`, { username: user.username });
      }
      throw err;
    }
  }

  /**
   * Applies `changes`; refuses (409 LAST_ADMIN) to deactivate or demote the last active admin. Returns
   * the user and whether their sessions were revoked.
   */
  async update(id: number, changes: UserChanges): Promise<{ user: User; sessionsRevoked: boolean }> {
    return inTransaction(this.pool, async (client) => {
      await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [ADMINS_LOCK]);
      const { rows } = await client.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.id = $1 FOR UPDATE`, [id]);
      if (!rows[0]) throw userNotFound(id);
      const before = userOf(rows[0]);
      const losesAdmin = before.role === "admin" && before.isActive && ((changes.role !== undefined && changes.role !== "admin") || changes.isActive === false);
      if (losesAdmin) {
        const others = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND is_active AND id <> $1", [id]);
        if (others.rows[0].n === 0) {
          throw new ApiError(409, "LAST_ADMIN", `user ${id} is the last active admin: make another user admin before deactivating or demoting this one`, { user_id: id });
        }
      }
      const updated = await client.query<UserRow>(
        `UPDATE users AS u SET role = coalesce($2, u.role), permissions = coalesce($3, u.permissions), is_active = coalesce($4, u.is_active),
           password_hash = coalesce($5, u.password_hash), updated_at = now()
         WHERE u.id = $1 RETURNING ${USER_COLUMNS}`,
        [id, changes.role ?? null, changes.permissions ?? null, changes.isActive ?? null, changes.passwordHash ?? null],
      );
      const endsAccess = (changes.isActive === false && before.isActive) || changes.passwordHash !== undefined;
      if (endsAccess) {
        await client.query("UPDATE sessions SET revoked_at = now(), revoked_reason = $2 WHERE user_id = $1 AND revoked_at IS NULL", [id, changes.passwordHash ? "password changed" : "user deactivated"]);
      }
      return { user: userOf(updated.rows[0]), sessionsRevoked: endsAccess };
    });
  }

  async recordLogin(id: number, newPasswordHash?: string): Promise<void> {
    await this.pool.query("UPDATE users SET last_login = now(), password_hash = coalesce($2, password_hash) WHERE id = $1", [id, newPasswordHash ?? null]);
  }
}
