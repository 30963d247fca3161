/**
 * Reads that must agree with each other (a count and the page it belongs to, the counts and the ROC AUC
 * of a quality report) run in one read-only REPEATABLE READ transaction: one snapshot and one now().
 */
import { inTransaction } from "@mlops/common";
import type { Pool, PoolClient } from "pg";

export function inSnapshot<T>(pool: Pool, read: (client: PoolClient) => Promise<T>): Promise<T> {
  return inTransaction(pool, read, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
}
