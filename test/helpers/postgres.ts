/**
 * A real PostgreSQL for tests (and benchmark scripts), one database per test file.
 *
 *   import { useTestDatabase } from "../../helpers/postgres";
 *   const db = useTestDatabase("monitor");          // registers beforeAll/afterAll in this file
 *   test("...", async () => { const url = db.url; ... });  // postgresql://...; also db.createDatabase()
 *
 * Where the server comes from:
 * - `TEST_DATABASE_URL` set (a superuser, or a role with CREATEDB, on any server): each file creates its
 *   own database there (`CREATE DATABASE <prefix>_<random>`) and drops it (WITH (FORCE)) afterwards.
 * - otherwise: a throwaway cluster from the Debian `postgresql` package (initdb into a temporary
 *   directory, unix socket in that directory, TCP on 127.0.0.1 on a free port, trust authentication),
 *   stopped and removed after the file; the file's database is created in it. PostgreSQL refuses to run as
 *   root, so as root (CI) initdb and the server run as the `postgres` user (setpriv), in a directory owned
 *   by that user.
 * Each test file gets its own database, so files run in parallel. Missing binaries make the test FAIL
 * with the set-up command to run (never skip).
 *
 * The server itself is `@mlops/dev-fixtures/postgres` (also `npm start`'s). Outside jest: `acquireTestDatabase()`.
 * The test cluster trades durability for speed (fsync off); pass `{ durable: true }` for numbers that
 * must reflect a real server (commits flushed to disk).
 */
import { databaseName, startPostgresCluster, withClient, type ClusterOptions } from "@mlops/dev-fixtures/postgres";

export { freePort, postgresBinDir, SETUP_HINT, startPostgresCluster, type ClusterOptions, type PostgresCluster } from "@mlops/dev-fixtures/postgres";

export interface TestDatabaseHandle {
  /** URL of this file's database. */
  url: string;
  /** Another fresh database on the same server (dropped on release too). */
  createDatabase(prefix?: string): Promise<string>;
  /** Drops the databases; stops the throwaway cluster when there is one. */
  release(): Promise<void>;
}

/** One database on TEST_DATABASE_URL's server, or on a throwaway cluster started for the caller. */
export async function acquireTestDatabase(prefix = "test", options: ClusterOptions = {}): Promise<TestDatabaseHandle> {
  const shared = process.env.TEST_DATABASE_URL;
  if (!shared) {
    const cluster = await startPostgresCluster(options);
    try {
      const url = await cluster.createDatabase(prefix);
      return { url, createDatabase: (p = prefix) => cluster.createDatabase(p), release: () => cluster.stop() };
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }
  const created: string[] = [];
  const create = async (p: string) => {
    const name = databaseName(p);
    await withClient(shared, (c) => c.query(`CREATE DATABASE "${name}"`));
    created.push(name);
    const u = new URL(shared);
    u.pathname = `/${name}`;
    return u.toString();
  };
  return {
    url: await create(prefix),
    createDatabase: (p = prefix) => create(p),
    release: async () => {
      await withClient(shared, async (c) => {
        for (const name of created.splice(0)) {
          // Let closing connections go by themselves before FORCE cuts the rest (see stop() above).
          for (let i = 0; i < 30; i++) {
            const { rows } = await c.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1", [name]);
            if (rows[0].n === 0) break;
            await new Promise((r) => setTimeout(r, 100));
          }
          await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        }
      });
    },
  };
}

/**
 * Jest: a database for the current test file, created in beforeAll and dropped in afterAll. Read
 * `.url` inside tests or hooks (it is set once beforeAll ran).
 */
export function useTestDatabase(prefix = "test", options: ClusterOptions = {}): { readonly url: string; createDatabase(prefix?: string): Promise<string> } {
  let handle: TestDatabaseHandle | undefined;
  beforeAll(async () => {
    handle = await acquireTestDatabase(prefix, options);
  }, 60_000);
  afterAll(async () => {
    await handle?.release();
  }, 60_000);
  const current = () => {
    if (!handle) throw new Error("the test database is not ready: use it inside tests or hooks that run after beforeAll");
    return handle;
  };
  return {
    get url() {
      return current().url;
    },
    createDatabase: (p?: string) => current().createDatabase(p),
  };
}
