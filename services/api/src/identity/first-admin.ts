/**
 * The first admin: created from ADMIN_USERNAME / ADMIN_PASSWORD when the users table is empty, never
 * touched afterwards (a restart with another ADMIN_PASSWORD resets nothing). Replicas starting together
 * are serialised by an advisory lock, so exactly one creates it.
 */
import { inTransaction } from "@mlops/common";
import type { Pool } from "pg";
import { newPasswordSchema, PasswordHasher } from "./passwords";
import { UserStore, type User } from "./users";

const LOCK = "mlops_api.first_admin";

export interface FirstAdmin {
  username: string;
  password?: string;
}

/** The admin created, or undefined when users already exist. */
export async function ensureFirstAdmin(pool: Pool, admin: FirstAdmin, hasher = new PasswordHasher()): Promise<User | undefined> {
  const anyUser = async (db: Pick<Pool, "query">) => ((await db.query("SELECT 1 FROM users LIMIT 1")).rowCount ?? 0) > 0;
  if (await anyUser(pool)) return undefined;
  if (admin.password === undefined) {
    throw new Error(`no user exists yet: set ADMIN_PASSWORD (at least 12 characters) to create the first admin "${admin.username}" (ADMIN_USERNAME)`);
  }
  const policy = newPasswordSchema.safeParse(admin.password);
  if (!policy.success) throw new Error(`ADMIN_PASSWORD: ${policy.error.issues.map((i) => i.message).join("; ")}`);
  // Hashed before the lock: ~100 ms a replica that loses the race wastes, instead of holding the others.
  const passwordHash = await hasher.hash(admin.password);
  return inTransaction(pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [LOCK]);
    if (await anyUser(client)) return undefined;
    return new UserStore(pool).create({ username: admin.username, passwordHash, role: "admin", permissions: [] }, client);
  });
}
