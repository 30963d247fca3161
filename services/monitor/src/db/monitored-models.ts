/**
 * `monitored_models` holds the configured models events arrived for. Events of other models are refused,
 * so only configured names are added; a model removed from MODELS_CONFIG is pruned at start-up. The table
 * (and the quality series computed per model) stays as small as the configuration: before, one request
 * with 2,000 invented names added 2,000 rows, 4,000 series, and 11 s to the next start-up.
 */
import type { Pool } from "pg";

/** Deletes the rows of models no longer configured; returns their names. */
export async function pruneMonitoredModels(pool: Pool, configured: readonly string[]): Promise<string[]> {
  const { rows } = await pool.query<{ model: string }>("DELETE FROM monitored_models WHERE NOT (model = ANY($1::text[])) RETURNING model", [configured]);
  return rows.map((r) => r.model);
}
