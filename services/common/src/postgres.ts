/**
 * What every service with a PostgreSQL database shares: the connection pool, start-up waiting for the
 * database, how database failures reach callers, and the migration runner.
 *
 *   const pool = createPool(e.DATABASE_URL, e.DB_POOL_MAX, logger, "mlops-api");
 *   await waitForDatabase(pool, e.DB_CONNECT_TIMEOUT_S, logger);
 *   await runMigrations(pool, MIGRATIONS, { lockName: "mlops_api.migrations" });
 *
 * Migrations: all pending ones run in one transaction (PostgreSQL DDL is transactional, so a failure
 * leaves the schema as it was), under an advisory lock so that replicas starting together apply each
 * migration exactly once. A migration changed after it was applied is refused (checksums); re-running is
 * a no-op. Several owners may share one database's `schema_migrations` table as long as their version
 * numbers do not overlap: each run checks and applies only the migrations it is given.
 */
import { createHash } from "node:crypto";
import { Pool, type PoolClient } from "pg";
import { HttpError } from "./errors";
import type { Logger } from "./logger";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export interface MigrationResult {
  applied: number[];
  /** The schema version after the run (the highest applied in this database, by anyone). */
  version: number;
}

export interface MigrateOptions {
  /** The advisory lock's name: one per database (e.g. `mlops_monitor.migrations`). */
  lockName: string;
}

export function migrationChecksum(m: Migration): string {
  return createHash("sha256").update(m.sql).digest("hex");
}

export async function runMigrations(pool: Pool, migrations: readonly Migration[], opts: MigrateOptions): Promise<MigrationResult> {
  const versions = migrations.map((m) => m.version);
  const twice = versions.find((v, i) => versions.indexOf(v) !== i);
  if (twice !== undefined) throw new Error(`migration version ${twice} is declared twice`);
  return inTransaction(pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [opts.lockName]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      checksum   text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: number; checksum: string }>("SELECT version, checksum FROM schema_migrations ORDER BY version");
    const done = new Map(rows.map((r) => [r.version, r.checksum]));
    for (const m of migrations) {
      const recorded = done.get(m.version);
      if (recorded !== undefined && recorded !== migrationChecksum(m)) {
        throw new Error(`migration ${m.version} ("${m.name}") was changed after it was applied to this database; add a new migration instead`);
      }
    }
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await client.query(m.sql);
      await client.query("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", [m.version, m.name, migrationChecksum(m)]);
      applied.push(m.version);
    }
    return { applied, version: Math.max(0, ...done.keys(), ...applied) };
  });
}

/**
 * Runs `work` in one transaction on one pooled connection: COMMIT when it resolves, ROLLBACK (and the
 * error rethrown) when it throws. `begin` chooses the isolation, e.g. a read-only snapshot:
 * `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`.
 */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>, begin = "BEGIN"): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(begin);
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** A pool that survives lost connections; `applicationName` shows in pg_stat_activity. */
export function createPool(url: string, max: number, logger: Logger, applicationName: string): Pool {
  const pool = new Pool({ connectionString: url, max, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000, application_name: applicationName });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on("error", (err) => logger.warn({ err: err.message }, "idle database connection failed"));
  // A checked-out client has no listener of the pool's: a connection lost while it is out (a failover
  // during a long query) would be an unhandled 'error' event and end the process. Its query fails to its
  // caller anyway, and the pool drops the dead client on release, so the event itself needs no handling.
  pool.on("connect", (client) => client.on("error", () => undefined));
  return pool;
}

const TRANSIENT_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EPIPE", "57P01", "57P02", "57P03", "53300", "40001", "40P01"]);

/** Failures worth retrying later: the database is unreachable, restarting, full, or a serialisation conflict. */
export function isTransient(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (e?.code && (TRANSIENT_CODES.has(e.code) || e.code.startsWith("08"))) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(e?.message ?? "");
}

/** Database failures as an API reports them: 503 (retry) when transient, else the error itself (500). */
export function toHttpError(err: unknown): unknown {
  if (err instanceof HttpError || !isTransient(err)) return err;
  return new HttpError(503, "DATABASE_UNAVAILABLE", `the database is unavailable, retry later: ${(err as Error).message}`, { "retry-after": "1" });
}

/** Waits until the database accepts connections (start-up order in a cluster is not guaranteed). */
export async function waitForDatabase(pool: Pool, timeoutS: number, logger: Logger): Promise<void> {
  const deadline = Date.now() + timeoutS * 1000;
  let delay = 250;
  for (;;) {
    try {
      await pool.query("SELECT 1");
      return;
    } catch (err) {
      if (!isTransient(err) || Date.now() + delay > deadline) throw new Error(`cannot reach the database at DATABASE_URL: ${(err as Error).message}`);
      logger.warn({ err: (err as Error).message, retryInMs: delay }, "database not reachable yet");
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  }
}
