/** The connection pool, start-up waiting for the database, and how database failures reach callers. */
import { HttpError, type Logger } from "@mlops/common";
import { Pool } from "pg";

export function createPool(url: string, max: number, logger: Logger): Pool {
  const pool = new Pool({ connectionString: url, max, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000, application_name: "mlops-monitor" });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on("error", (err) => logger.warn({ err: err.message }, "idle database connection failed"));
  // A checked-out client has no listener of the pool's: a connection lost while it is out (a failover
  // during the quality refresh, which now runs while requests are served) would be an unhandled 'error'
  // event and end the process. Its query fails to its caller anyway, and the pool drops the dead client on
  // release, so the event itself needs no handling (idle clients are logged above).
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

/** Database failures as the API reports them: 503 (retry) when transient, else the error itself (500). */
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
