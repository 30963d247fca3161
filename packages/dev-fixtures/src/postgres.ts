/**
 * A real PostgreSQL from the Debian `postgresql` package, started by us: for the local platform
 * (`npm start`, a persistent data directory), the tests and the benchmarks (a throwaway one).
 *
 * initdb into the data directory when it has no cluster yet, then `postgres` listening on 127.0.0.1 (a
 * free port unless one is given) and on a unix socket in its run directory, trust authentication on
 * loopback only. PostgreSQL refuses to run as root, so as root initdb and the server run as the
 * `postgres` user (setpriv), in directories owned by that user. Missing binaries: an error naming the
 * set-up command.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { Client, type ClientConfig } from "pg";

export const SETUP_HINT = "run the README's set-up command first: `bash scripts/setup.sh` (installs the Debian package postgresql), or set TEST_DATABASE_URL to a PostgreSQL server";

export interface PostgresCluster {
  host: string;
  port: number;
  /** Directory holding the server's unix socket. */
  socketDir: string;
  superuser: string;
  /** Process id of the server (postmaster); its backends are its children. */
  pid: number;
  /** Connection URL of `database` (default `postgres`) as the superuser over TCP. */
  url(database?: string): string;
  /** Creates a fresh database and returns its URL. */
  createDatabase(prefix?: string): Promise<string>;
  /** The URL of the database `name`, created when it does not exist yet. */
  ensureDatabase(name: string): Promise<string>;
  /** Shuts the server down (waiting briefly for clients to leave), then removes a temporary data directory. Idempotent. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Keep fsync and synchronous commit on (benchmarks, the local platform); tests default to off for speed. */
  durable?: boolean;
  /** A data directory to keep (created and initialised when empty); default: a temporary one, removed on stop. */
  dataDir?: string;
  /** The TCP port; default: a free one. */
  port?: number;
  /** Its own process group: a Ctrl-C in the terminal then reaches only the caller, which stops the server in its order. */
  detached?: boolean;
  /**
   * pg_hba.conf instead of initdb's trust for every connection (e.g. passwords over TCP, as a managed
   * database). It must keep trusting the superuser on the local socket, where this module administers it.
   */
  hba?: string;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>;
}

/** The directory of initdb/postgres: PG_BIN, else the newest /usr/lib/postgresql/<v>/bin, else PATH. */
export function postgresBinDir(): string {
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => path.join(root, v, "bin")));
  }
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) if (dir) candidates.push(dir);
  const found = candidates.find((d) => existsSync(path.join(d, "initdb")) && existsSync(path.join(d, "postgres")));
  if (!found) throw new Error(`PostgreSQL server binaries (initdb, postgres) were not found in PG_BIN, /usr/lib/postgresql/<version>/bin or PATH: ${SETUP_HINT}`);
  return found;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

interface OsUser {
  uid: number;
  gid: number;
}

function postgresOsUser(): OsUser {
  const id = (flag: string) => spawnSync("id", [flag, "postgres"], { encoding: "utf8" });
  const uid = id("-u");
  const gid = id("-g");
  if (uid.status !== 0 || gid.status !== 0) {
    throw new Error(`running as root, PostgreSQL must run as the "postgres" user, which does not exist: ${SETUP_HINT}`);
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

const running = new Set<{ child: ChildProcess; dir: string; temporary: boolean }>();
// A process that exits without stopping its servers (a crash, jest's forced exit) must not leave them behind.
process.once("exit", () => {
  for (const r of running) {
    if (r.child.exitCode === null) r.child.kill("SIGQUIT");
    if (r.temporary) rmSync(r.dir, { recursive: true, force: true });
  }
});

/** initdb (when needed) + postgres, listening on 127.0.0.1:<port> and on a socket in its directory. */
export async function startPostgresCluster(options: ClusterOptions = {}): Promise<PostgresCluster> {
  const bin = postgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? postgresOsUser() : undefined;
  // As root, exec straight into the postgres user (setpriv does not fork), so the child IS the server.
  const command = (file: string, args: string[]): [string, string[]] =>
    owner ? ["setpriv", [`--reuid=${owner.uid}`, `--regid=${owner.gid}`, "--clear-groups", path.join(bin, file), ...args]] : [path.join(bin, file), args];

  const temporary = options.dataDir === undefined;
  const dir = temporary ? mkdtempSync(path.join(tmpdir(), "mlops-pg-")) : path.resolve(options.dataDir!);
  const removeIfTemporary = () => temporary && rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    const reach = spawnSync("setpriv", [`--reuid=${owner.uid}`, `--regid=${owner.gid}`, "--clear-groups", "test", "-x", dir]);
    if (reach.status !== 0) {
      removeIfTemporary();
      throw new Error(`PostgreSQL runs as the "postgres" user, which cannot reach ${dir}: a directory above it is not searchable by others (chmod o+x it, or choose a data directory elsewhere)`);
    }
  }
  const data = path.join(dir, "data");
  const superuser = "postgres";
  if (!existsSync(path.join(data, "PG_VERSION"))) {
    const [initCmd, initArgs] = command("initdb", ["-D", data, "-U", superuser, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"]);
    const init = spawnSync(initCmd, initArgs, { encoding: "utf8", cwd: dir });
    if (init.status !== 0) {
      removeIfTemporary();
      throw new Error(`initdb of ${data} failed (exit ${init.status}): ${(init.stderr || init.stdout || String(init.error)).trim()}`);
    }
  }
  if (options.hba !== undefined) {
    const hbaFile = path.join(data, "pg_hba.conf");
    writeFileSync(hbaFile, options.hba);
    if (owner) chownSync(hbaFile, owner.uid, owner.gid);
  }

  const settings: Record<string, string | number> = {
    listen_addresses: "127.0.0.1",
    unix_socket_directories: dir,
    max_connections: 100,
    log_min_messages: "warning",
    ...(options.durable ? {} : { fsync: "off", synchronous_commit: "off", full_page_writes: "off" }),
    ...options.settings,
  };
  const args = Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`]);

  let lastError = "";
  for (let attempt = 0; attempt < (options.port ? 1 : 3); attempt++) {
    const port = options.port ?? (await freePort());
    const [cmd, cmdArgs] = command("postgres", ["-D", data, "-p", String(port), ...args]);
    const child = spawn(cmd, cmdArgs, { cwd: dir, stdio: ["ignore", "ignore", "pipe"], detached: options.detached });
    let log = "";
    child.stderr!.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-8000)));
    const entry = { child, dir, temporary };
    running.add(entry);
    // Over the socket, trusted for the superuser whatever `hba` says of TCP.
    const admin = (database = "postgres"): ClientConfig => ({ host: dir, port, user: superuser, database });
    const up = await waitUntilAccepting(admin(), child, 30_000);
    if (up) {
      let stopping: Promise<void> | undefined;
      const url = (database = "postgres") => `postgresql://${superuser}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
      return {
        host: "127.0.0.1",
        port,
        socketDir: dir,
        superuser,
        pid: child.pid!,
        url,
        createDatabase: async (prefix = "test") => {
          const name = databaseName(prefix);
          await withClient(admin(), (c) => c.query(`CREATE DATABASE "${name}"`));
          return url(name);
        },
        ensureDatabase: async (name) => {
          await withClient(admin(), async (c) => {
            const { rowCount } = await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
            if (!rowCount) await c.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
          });
          return url(name);
        },
        stop: () =>
          (stopping ??= (async () => {
            if (child.exitCode === null && child.signalCode === null) {
              // Smart shutdown first: a pool that "ended" may still be closing its sockets, and a fast
              // shutdown would hand those clients an error event nobody listens to any more. Fast after 3 s.
              const exited = new Promise((r) => child.once("exit", r));
              child.kill("SIGTERM");
              const timer = setTimeout(() => child.kill("SIGINT"), 3000);
              await exited;
              clearTimeout(timer);
            }
            running.delete(entry);
            removeIfTemporary();
          })()),
      };
    }
    running.delete(entry);
    if (child.exitCode === null) {
      child.kill("SIGQUIT");
      await new Promise((r) => child.once("exit", r));
    }
    lastError = log.trim();
    if (options.port && /could not bind|Address already in use/i.test(lastError)) lastError = `port ${port} is in use. ${lastError}`;
    // Another process may have taken the free port between the probe and the bind: try another one.
    if (!/could not bind|Address already in use/i.test(lastError)) break;
  }
  removeIfTemporary();
  throw new Error(`PostgreSQL (data directory ${data}) did not start: ${lastError || "no output"}`);
}

async function waitUntilAccepting(config: ClientConfig, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const client = new Client({ ...config, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.end();
      return true;
    } catch {
      await client.end().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return false;
}

/** A fresh database name: the prefix, cleaned, plus random hex. */
export function databaseName(prefix: string): string {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9_]/g, "_").slice(0, 40);
  return `${clean}_${randomBytes(5).toString("hex")}`;
}

/** A connection (URL or pg config) for the length of `fn`. */
export async function withClient<T>(target: string | ClientConfig, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client(typeof target === "string" ? { connectionString: target } : target);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

