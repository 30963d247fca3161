import { spawnSync } from "node:child_process";
import { startPostgresCluster } from "@mlops/dev-fixtures/postgres";

/**
 * A throwaway PostgreSQL server (`@mlops/dev-fixtures/postgres`: Debian's postgresql package, a free local
 * port, a temporary directory) that, like a managed database, wants passwords (SCRAM) over TCP; the
 * superuser is trusted on the local socket only. Missing binaries make the test fail with the set-up
 * command to run.
 */
export interface TempPostgres {
  host: string;
  port: number;
  superuser: string;
  /** Runs SQL as the superuser (psql -v ON_ERROR_STOP=1), returns stdout. */
  sql(statement: string, database?: string): string;
  stop(): Promise<void>;
}

export async function startPostgres(): Promise<TempPostgres> {
  const cluster = await startPostgresCluster({
    hba: "local all postgres trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
    settings: { password_encryption: "scram-sha-256" },
  });
  const sql = (statement: string, database = "postgres") => {
    const r = spawnSync("psql", ["-h", cluster.socketDir, "-p", String(cluster.port), "-U", cluster.superuser, "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", statement], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
    return r.stdout.trim();
  };
  return { host: cluster.host, port: cluster.port, superuser: cluster.superuser, sql, stop: () => cluster.stop() };
}
