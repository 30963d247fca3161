/**
 * Setting identity up: the shared migration runner (idempotent, one application when replicas start
 * together, a changed migration refused), the first admin (created once, never reset, safe under
 * concurrent starts, a clear error without ADMIN_PASSWORD), scrypt hashes and their parameters, and the
 * authenticator's bounded cache.
 */
import { scrypt } from "node:crypto";
import { createLogger, createPool, runMigrations } from "@mlops/common";
import type { Pool } from "pg";
import { ensureFirstAdmin, IDENTITY_MIGRATIONS } from "../../../services/api/src/identity";
import { DEFAULT_SCRYPT, PasswordHasher, scryptMaxmem } from "../../../services/api/src/identity/passwords";
import { TtlCache } from "../../../services/api/src/identity/ttl-cache";
import { useTestDatabase } from "../../helpers/postgres";

const db = useTestDatabase("identity_setup");
const logger = createLogger("identity-test", "silent");
const LOCK = { lockName: "mlops_api.migrations" };

async function withPools<T>(url: string, n: number, work: (pools: Pool[]) => Promise<T>): Promise<T> {
  const pools = Array.from({ length: n }, () => createPool(url, 2, logger, "identity-setup-test"));
  try {
    return await work(pools);
  } finally {
    await Promise.all(pools.map((p) => p.end()));
  }
}

describe("migrations (common's runner)", () => {
  test("replicas starting together apply each migration once; a re-run is a no-op", async () => {
    const url = await db.createDatabase("identity_migrate");
    await withPools(url, 3, async (pools) => {
      const results = await Promise.all(pools.map((p) => runMigrations(p, IDENTITY_MIGRATIONS, LOCK)));
      expect(results.map((r) => r.applied.length).sort()).toEqual([0, 0, IDENTITY_MIGRATIONS.length]);
      expect(await runMigrations(pools[0], IDENTITY_MIGRATIONS, LOCK)).toEqual({ applied: [], version: IDENTITY_MIGRATIONS.length });
      expect(IDENTITY_MIGRATIONS.every((m) => m.version >= 1 && m.version <= 9)).toBe(true);
    });
  });

  test("a migration changed after it was applied is refused, naming it; another owner's versions are left alone", async () => {
    const url = await db.createDatabase("identity_changed");
    await withPools(url, 1, async ([pool]) => {
      await runMigrations(pool, IDENTITY_MIGRATIONS, LOCK);
      const changed = IDENTITY_MIGRATIONS.map((m) => (m.version === 3 ? { ...m, sql: m.sql + "\n-- edited" } : m));
      await expect(runMigrations(pool, changed, LOCK)).rejects.toThrow(/migration 3 \("api keys"\) was changed after it was applied/);
      const jobs = { version: 10, name: "jobs", sql: "CREATE TABLE jobs (id bigserial PRIMARY KEY)" };
      expect((await runMigrations(pool, [jobs], LOCK)).applied).toEqual([10]);
      expect((await runMigrations(pool, IDENTITY_MIGRATIONS, LOCK)).applied).toEqual([]);
    });
  });
});

describe("ensureFirstAdmin", () => {
  const PASSWORD = "first-admin-password-1";

  test("creates the admin once; later starts change nothing, even with another password", async () => {
    const url = await db.createDatabase("identity_admin");
    await withPools(url, 1, async ([pool]) => {
      await runMigrations(pool, IDENTITY_MIGRATIONS, LOCK);
      const created = await ensureFirstAdmin(pool, { username: "root", password: PASSWORD });
      expect(created).toMatchObject({ username: "root", role: "admin", isActive: true });
      const { rows } = await pool.query("SELECT password_hash FROM users");
      expect(await ensureFirstAdmin(pool, { username: "root", password: "another-password-99" })).toBeUndefined();
      expect(await ensureFirstAdmin(pool, { username: "someone-else" })).toBeUndefined();
      const after = await pool.query("SELECT username, password_hash FROM users");
      expect(after.rows).toEqual([{ username: "root", password_hash: rows[0].password_hash }]);
      expect(await new PasswordHasher().verify(PASSWORD, rows[0].password_hash)).toBe(true);
    });
  });

  test("replicas starting together create exactly one admin", async () => {
    const url = await db.createDatabase("identity_race");
    await withPools(url, 4, async (pools) => {
      await runMigrations(pools[0], IDENTITY_MIGRATIONS, LOCK);
      const results = await Promise.all(pools.map((p) => ensureFirstAdmin(p, { username: "root", password: PASSWORD })));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect((await pools[0].query("SELECT count(*)::int AS n FROM users")).rows[0].n).toBe(1);
    });
  });

  test("without users and without a password it says to set ADMIN_PASSWORD; a weak one is named too", async () => {
    const url = await db.createDatabase("identity_nopw");
    await withPools(url, 1, async ([pool]) => {
      await runMigrations(pool, IDENTITY_MIGRATIONS, LOCK);
      await expect(ensureFirstAdmin(pool, { username: "root" })).rejects.toThrow(/set ADMIN_PASSWORD .*"root"/);
      await expect(ensureFirstAdmin(pool, { username: "root", password: "short" })).rejects.toThrow("ADMIN_PASSWORD: use at least 12 characters");
      expect((await pool.query("SELECT count(*)::int AS n FROM users")).rows[0].n).toBe(0);
    });
  });
});

describe("password hashes", () => {
  test("self-describing scrypt strings with a fresh salt each time, verified only by the right password", async () => {
    const hasher = new PasswordHasher();
    const [a, b] = await Promise.all([hasher.hash("the same password"), hasher.hash("the same password")]);
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    expect(a).not.toBe(b);
    expect(await hasher.verify("the same password", a)).toBe(true);
    expect(await hasher.verify("the same passwore", a)).toBe(false);
    expect(await hasher.verify("the same password", "scrypt$garbage")).toBe(false);
    expect(await hasher.verifyNobody("anything at all")).toBe(false);
    expect(hasher.needsRehash(a)).toBe(false);
    expect(hasher.needsRehash(await new PasswordHasher({ N: 2 ** 10, r: 8, p: 1 }).hash("x"))).toBe(true);
  });

  test("maxmem is computed from the parameters: node's default refuses N=2^15, r=8", async () => {
    const run = (maxmem?: number) =>
      new Promise<Buffer>((resolve, reject) => scrypt("pw", "salt", 32, { ...DEFAULT_SCRYPT, ...(maxmem ? { maxmem } : {}) }, (err, key) => (err ? reject(err) : resolve(key))));
    await expect(run()).rejects.toThrow(/memory limit exceeded|Invalid scrypt param/i);
    await expect(run(scryptMaxmem(DEFAULT_SCRYPT))).resolves.toHaveLength(32);
    await expect(run(scryptMaxmem(DEFAULT_SCRYPT) - 1)).rejects.toThrow();
  });
});

test("the authenticator's cache forgets entries after their lifetime and beyond its size, least recently used first", () => {
  let now = 0;
  const cache = new TtlCache<string, number>(5000, 2, () => now);
  cache.set("a", 1);
  cache.set("b", 2);
  expect(cache.get("a")).toBe(1); // a is now the most recent
  cache.set("c", 3);
  expect([cache.get("a"), cache.get("b"), cache.get("c")]).toEqual([1, undefined, 3]);
  now = 5001;
  expect(cache.get("a")).toBeUndefined();
  cache.set("d", 4);
  cache.deleteWhere((v) => v === 4);
  expect(cache.get("d")).toBeUndefined();
});
