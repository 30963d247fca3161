/** The monitor's connection pool; waiting for the database and mapping its failures are common's (postgres.ts). */
import { createPool as createNamedPool, type Logger } from "@mlops/common";
import type { Pool } from "pg";

export { isTransient, toHttpError, waitForDatabase } from "@mlops/common";

export function createPool(url: string, max: number, logger: Logger): Pool {
  return createNamedPool(url, max, logger, "mlops-monitor");
}
