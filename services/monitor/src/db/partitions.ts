/**
 * Daily partitions of the tables partitioned by prediction time (predictions, labelled). Ingestion asks
 * for the days of a batch before inserting (known days cost a set lookup); retention drops whole days.
 * DDL runs under an advisory lock so replicas do not race, and with a lock timeout so that it never
 * stalls ingestion for long.
 */
import type { Pool, PoolClient } from "pg";

export const PARTITIONED_TABLES = ["predictions", "labelled"] as const;
const LOCK = "mlops_monitor.partitions";
const DAY_MS = 86_400_000;

/** `2025-03-07` (UTC) of a time in ms. */
export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function partitionName(table: string, day: string): string {
  return `${table}_p${day.replace(/-/g, "")}`;
}

function nextDay(day: string): string {
  return dayOf(Date.parse(`${day}T00:00:00Z`) + DAY_MS);
}

export class Partitions {
  private readonly known = new Set<string>();

  constructor(private readonly pool: Pool) {}

  /** Reads the days that exist (every partitioned table has them; a day missing anywhere is not known). */
  async load(): Promise<void> {
    const { rows } = await this.pool.query<{ parent: string; child: string }>(
      `SELECT p.relname AS parent, c.relname AS child
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname = ANY($1) AND c.relnamespace = p.relnamespace AND p.relnamespace = current_schema()::regnamespace`,
      [[...PARTITIONED_TABLES]],
    );
    const perDay = new Map<string, number>();
    for (const r of rows) {
      const m = /_p(\d{4})(\d{2})(\d{2})$/.exec(r.child);
      if (m) perDay.set(`${m[1]}-${m[2]}-${m[3]}`, (perDay.get(`${m[1]}-${m[2]}-${m[3]}`) ?? 0) + 1);
    }
    this.known.clear();
    for (const [day, n] of perDay) if (n === PARTITIONED_TABLES.length) this.known.add(day);
  }

  has(day: string): boolean {
    return this.known.has(day);
  }

  /** Creates the missing partitions of these days (YYYY-MM-DD, UTC). */
  async ensure(days: Iterable<string>): Promise<void> {
    const missing = [...new Set(days)].filter((d) => !this.known.has(d)).sort();
    if (missing.length === 0) return;
    await this.withLock(async (client) => {
      for (const day of missing) {
        for (const table of PARTITIONED_TABLES) {
          await client.query(
            `CREATE TABLE IF NOT EXISTS ${partitionName(table, day)} PARTITION OF ${table} FOR VALUES FROM ('${day}T00:00:00Z') TO ('${nextDay(day)}T00:00:00Z')`,
          );
        }
      }
    });
    for (const day of missing) this.known.add(day);
  }

  /** Forgets what it knows (after a partition vanished under it, e.g. another replica's retention). */
  forget(): void {
    this.known.clear();
  }

  /** Drops the days that end at or before `cutoffMs`; returns them. */
  async dropEndingBefore(cutoffMs: number): Promise<string[]> {
    await this.load();
    const old = [...this.known].filter((day) => Date.parse(`${day}T00:00:00Z`) + DAY_MS <= cutoffMs).sort();
    if (old.length === 0) return [];
    await this.withLock(async (client) => {
      for (const day of old) for (const table of PARTITIONED_TABLES) await client.query(`DROP TABLE IF EXISTS ${partitionName(table, day)}`);
    });
    for (const day of old) this.known.delete(day);
    return old;
  }

  private async withLock(fn: (client: PoolClient) => Promise<void>): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      await client.query("SET LOCAL lock_timeout = '10s'");
      await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [LOCK]);
      await fn(client);
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}
