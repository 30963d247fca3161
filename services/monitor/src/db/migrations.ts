/**
 * Applies db/schema.ts's migrations at start-up: all pending ones in one transaction (PostgreSQL DDL is
 * transactional, so a failure leaves the schema as it was), under an advisory lock so that replicas
 * starting together apply each migration exactly once. Re-running is a no-op.
 */
import { createHash } from "node:crypto";
import type { Pool } from "pg";
import { MIGRATIONS, type Migration } from "./schema";

const LOCK = "mlops_monitor.migrations";

export interface MigrationResult {
  applied: number[];
  /** The schema version after the run. */
  version: number;
}

export function checksum(m: Migration): string {
  return createHash("sha256").update(m.sql).digest("hex");
}

export async function migrate(pool: Pool, migrations: Migration[] = MIGRATIONS): Promise<MigrationResult> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [LOCK]);
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
      if (recorded !== undefined && recorded !== checksum(m)) {
        throw new Error(`migration ${m.version} ("${m.name}") was changed after it was applied to this database; add a new migration instead`);
      }
    }
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(m.version)) continue;
      await client.query(m.sql);
      await client.query("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", [m.version, m.name, checksum(m)]);
      applied.push(m.version);
    }
    await client.query("COMMIT");
    const version = Math.max(0, ...done.keys(), ...applied);
    return { applied, version };
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
