/**
 * Reads that must agree with each other (a count and the page it belongs to, the counts and the ROC AUC
 * of a quality report) run in one read-only REPEATABLE READ transaction: one snapshot and one now().
 */
import type { Pool, PoolClient } from "pg";

export async function inSnapshot<T>(pool: Pool, read: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const result = await read(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
