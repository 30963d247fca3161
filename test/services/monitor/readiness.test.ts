/**
 * /health/ready of the monitor follows its database: ready while PostgreSQL answers and the schema is
 * migrated; 503 naming the database and the reason while it is unreachable, hangs, or lacks the
 * migrations; ready again when it is back. The database is a real PostgreSQL behind a TCP proxy of the
 * test, so "unreachable" is a closed port (connection refused) and "hangs" a port that accepts and never
 * answers, whatever server the test database lives on.
 */
import net from "node:net";
import { useTestDatabase } from "../../helpers/postgres";
import { get, sql, startTestMonitor, type TestMonitor } from "./support";

const db = useTestDatabase("monitor_ready");

/** Forwards 127.0.0.1:<port> to the database; stop() closes the port and cuts every connection. */
class TcpProxy {
  port = 0;
  mode: "forward" | "blackhole" = "forward";
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      this.track(client);
      if (this.mode === "blackhole") return; // accepts, reads, never answers
      const upstream = net.connect(this.target);
      this.track(upstream);
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server?.close(r));
    this.server = undefined;
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => this.sockets.delete(socket));
  }
}

function throughProxy(url: string, proxy: TcpProxy): string {
  const u = new URL(url);
  u.hostname = "127.0.0.1";
  u.port = String(proxy.port);
  return u.toString();
}

describe("readiness follows the database", () => {
  let proxy: TcpProxy;
  let m: TestMonitor;
  let viaProxy: string;
  const ready = async () => get(`${m.url}/health/ready`);

  beforeAll(async () => {
    const u = new URL(db.url);
    proxy = new TcpProxy({ host: u.hostname, port: Number(u.port || 5432) });
    await proxy.start();
    viaProxy = throughProxy(db.url, proxy);
    m = await startTestMonitor(viaProxy, { DB_READY_CACHE_MS: "0", DB_READY_TIMEOUT_MS: "500" });
  });

  afterAll(async () => {
    proxy.mode = "forward";
    await m?.close();
    await proxy?.stop();
  });

  test("ready while PostgreSQL answers", async () => {
    expect(await ready()).toMatchObject({ status: 200, body: { status: "ready" } });
  });

  test("the database's port closed: 503 naming the database and why; ready again once it is back", async () => {
    await proxy.stop();
    const down = await ready();
    expect(down.status).toBe(503);
    expect(down.body.status).toBe("not ready");
    const dbName = new URL(db.url).pathname;
    expect(down.body.waitingFor).toEqual([
      { what: "database", uri: `postgresql://127.0.0.1:${proxy.port}${dbName}`, reason: expect.stringMatching(/^the database does not answer: .*ECONNREFUSED/), since: expect.any(String), attempts: 1 },
    ]);
    expect(JSON.stringify(down.body)).not.toMatch(/password|postgres@/);
    // The API says the same in its own words (unchanged): 503 DATABASE_UNAVAILABLE.
    expect((await get(`${m.url}/v1/alerts/actions`)).body.code).toBe("DATABASE_UNAVAILABLE");
    expect((await ready()).body.waitingFor[0].attempts).toBe(2);

    await proxy.start(); // the same port
    expect(await ready()).toMatchObject({ status: 200, body: { status: "ready" } });
    expect((await get(`${m.url}/v1/alerts/actions`)).status).toBe(200);
  });

  test("a database that accepts and never answers: 503 within DB_READY_TIMEOUT_MS, not a hung probe", async () => {
    await proxy.stop();
    proxy.mode = "blackhole";
    await proxy.start();
    const t0 = Date.now();
    const hung = await ready();
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(hung.status).toBe(503);
    expect(hung.body.waitingFor[0].reason).toMatch(/does not answer/);
    await proxy.stop();
    proxy.mode = "forward";
    await proxy.start();
    expect((await ready()).status).toBe(200);
  });

  test("migrations missing (no schema_migrations, or an older version): 503 saying so", async () => {
    await sql(db.url, "ALTER TABLE schema_migrations RENAME TO schema_migrations_moved");
    try {
      const missing = await ready();
      expect(missing.status).toBe(503);
      expect(missing.body.waitingFor[0].reason).toMatch(/^the schema is not migrated: the table schema_migrations does not exist/);
    } finally {
      await sql(db.url, "ALTER TABLE schema_migrations_moved RENAME TO schema_migrations");
    }
    expect((await ready()).status).toBe(200);

    const [{ version }] = await sql(db.url, "SELECT max(version) AS version FROM schema_migrations");
    await sql(db.url, "UPDATE schema_migrations SET version = 0 WHERE version = $1", [version]);
    try {
      const behind = await ready();
      expect(behind.status).toBe(503);
      expect(behind.body.waitingFor[0].reason).toMatch(new RegExp(`^the schema is at version \\d+, this build needs ${version}: migrations not applied`));
    } finally {
      await sql(db.url, "UPDATE schema_migrations SET version = $1 WHERE version = 0", [version]);
    }
    expect((await ready()).status).toBe(200);
  });
});

test("the result is cached for DB_READY_CACHE_MS: probes in between do not reach PostgreSQL", async () => {
  const u = new URL(db.url);
  const proxy = new TcpProxy({ host: u.hostname, port: Number(u.port || 5432) });
  await proxy.start();
  const m = await startTestMonitor(throughProxy(db.url, proxy), { DB_READY_CACHE_MS: "60000" });
  try {
    await proxy.stop();
    // Start-up has just checked (connected and migrated): the next minute's probes reuse that.
    for (let i = 0; i < 3; i++) expect((await get(`${m.url}/health/ready`)).status).toBe(200);
  } finally {
    await proxy.start();
    await m.close();
    await proxy.stop();
  }
});
