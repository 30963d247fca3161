/** Applies db/schema.ts's migrations at start-up with the shared runner (common's postgres.ts: one transaction, advisory lock, checksums). */
import { migrationChecksum, runMigrations, type MigrationResult } from "@mlops/common";
import type { Pool } from "pg";
import { MIGRATIONS, type Migration } from "./schema";

export type { MigrationResult };

const LOCK = "mlops_monitor.migrations";

export const checksum = (m: Migration): string => migrationChecksum(m);

export function migrate(pool: Pool, migrations: Migration[] = MIGRATIONS): Promise<MigrationResult> {
  return runMigrations(pool, migrations, { lockName: LOCK });
}
