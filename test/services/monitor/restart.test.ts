/**
 * Nothing acknowledged is lost: a graceful restart on the same database, and `kill -9` of the built
 * service (dist/main.js) while it ingests; a re-sent unacknowledged batch completes the data. Also the
 * process contract: bad configuration exits 1 with one clear message; SIGTERM drains in-flight batches.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { MIGRATIONS } from "../../../services/monitor/src/db/schema";
import { useTestDatabase } from "../../helpers/postgres";
import { BASE_ENV, count, event, get, post, sql, startTestMonitor } from "./support";

const db = useTestDatabase("monitor_restart");
const MAIN = path.resolve(__dirname, "../../../services/monitor/dist/main.js");

function batch(prefix: string, n: number) {
  return { events: Array.from({ length: n }, (_, i) => event({ id: `${prefix}-${i}:0`, model: "restart", outputs: { label: i % 2, probability: (i % 10) / 10 } })) };
}

test("close and re-open on the same database: data, labels and schema are kept; a re-send is a no-op", async () => {
  const first = await startTestMonitor(db.url);
  const events = batch("graceful", 10);
  await post(`${first.url}/v1/events`, events);
  await post(`${first.url}/v1/feedback`, Array.from({ length: 10 }, (_, i) => ({ prediction_id: `graceful-${i}:0`, actual: 1 })));
  const before = (await get(`${first.url}/v1/models/restart/quality?window=1h`)).body.variants;
  await first.close();

  const second = await startTestMonitor(db.url);
  try {
    expect((await get(`${second.url}/v1/models/restart/quality?window=1h`)).body.variants).toEqual(before);
    expect(before[0]).toMatchObject({ labels: 10, accuracy: 0.5 });
    expect((await post(`${second.url}/v1/events`, events)).body).toMatchObject({ inserted: 0, duplicates: 10 });
    expect(await sql(db.url, "SELECT version FROM schema_migrations ORDER BY version")).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
  } finally {
    await second.close();
  }
});

interface Proc {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** The built service as its own process, as in the container. */
async function spawnMonitor(env: Record<string, string>): Promise<Proc> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build -w services/common -w services/monitor\` first (npm test builds before jest)`);
  // MAX_CONCURRENT_BATCHES: the tests below keep up to 4 batches in flight, whatever this machine's CPU count makes the default.
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH, ...BASE_ENV, LOG_LEVEL: "info", MAX_CONCURRENT_BATCHES: "8", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const port = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /"apiPort":(\d+)/.exec(out);
      if (m) {
        clearInterval(timer);
        resolve(m[1]);
      }
    }, 20);
    void exit.then((code) => {
      clearInterval(timer);
      reject(new Error(`the monitor exited (${code}) before listening: ${err}`));
    });
  });
  return { child, url: `http://127.0.0.1:${port}`, stderr: () => err, exit };
}

test("kill -9 while ingesting: every acknowledged event is in the database; the re-sent batch completes it", async () => {
  const env = { DATABASE_URL: db.url };
  const first = await spawnMonitor(env);
  const acked: string[] = [];
  for (let b = 0; b < 20; b++) {
    const body = batch(`kill-${b}`, 250);
    const res = await post(`${first.url}/v1/events`, body);
    expect(res.status).toBe(200);
    acked.push(...body.events.map((e) => e.id));
  }
  // Batches in flight when the process dies: their senders get no answer and will retry.
  const inFlight = [0, 1, 2].map((i) => batch(`kill-flight-${i}`, 2000));
  const sends = inFlight.map((body) => post(`${first.url}/v1/events`, body).then((r) => r.status, () => 0));
  await new Promise((r) => setTimeout(r, 30));
  first.child.kill("SIGKILL");
  expect(await first.exit).toBeNull();
  const statuses = await Promise.all(sends);
  inFlight.forEach((body, i) => {
    if (statuses[i] === 200) acked.push(...body.events.map((e) => e.id));
  });

  const stored = new Set((await sql<{ prediction_id: string }>(db.url, "SELECT prediction_id FROM predictions WHERE model = 'restart'")).map((r) => r.prediction_id));
  expect(acked.filter((id) => !stored.has(id))).toEqual([]);
  // A batch is one transaction: all of it or none of it.
  for (const body of inFlight) expect([0, 2000]).toContain(body.events.filter((e) => stored.has(e.id)).length);

  const second = await spawnMonitor(env);
  try {
    for (const [i, body] of inFlight.entries()) {
      const res = await post(`${second.url}/v1/events`, body);
      expect(res.status).toBe(200);
      if (statuses[i] === 200) expect(res.body.inserted).toBe(0);
    }
    expect(await count(db.url, "predictions", "prediction_id LIKE 'kill-%'")).toBe(20 * 250 + 3 * 2000);
  } finally {
    second.child.kill("SIGTERM");
    expect(await second.exit).toBe(0);
  }
});

test("SIGTERM: batches in flight are committed and answered, then exit 0", async () => {
  const proc = await spawnMonitor({ DATABASE_URL: db.url });
  const bodies = [0, 1, 2, 3].map((i) => batch(`term-${i}`, 1000));
  const sends = bodies.map((body) => post(`${proc.url}/v1/events`, body));
  await new Promise((r) => setTimeout(r, 20));
  proc.child.kill("SIGTERM");
  const results = await Promise.all(sends);
  expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
  expect(await proc.exit).toBe(0);
  expect(await count(db.url, "predictions", "prediction_id LIKE 'term-%'")).toBe(4000);
});

test("bad configuration: one clear message per variable, exit 1", async () => {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH, RETENTION_DAYS: "a week", ALERT_ACTIONS: '[{"alert": "ModelQualityLow", "action": "reboot"}]', QUALITY_WINDOWS: "1h,forever" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  expect(await new Promise((r) => child.on("exit", r))).toBe(1);
  expect(stderr).toContain("invalid configuration:");
  expect(stderr).toContain("DATABASE_URL=(unset): set DATABASE_URL to the monitor's PostgreSQL database");
  expect(stderr).toContain('RETENTION_DAYS="a week"');
  expect(stderr).toContain('QUALITY_WINDOWS="1h,forever": "forever" is not a window');
  expect(stderr).toContain("ALERT_ACTIONS: 0.action: expected one of rollback, retrain");
});

test("an unreachable database: exit 1 after DB_CONNECT_TIMEOUT_S, saying so, without the URL's password", async () => {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH, ...BASE_ENV, DATABASE_URL: "postgresql://nobody:db-password-91xq@127.0.0.1:1/monitor", DB_CONNECT_TIMEOUT_S: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let stdout = "";
  child.stderr!.on("data", (d) => (stderr += d));
  child.stdout!.on("data", (d) => (stdout += d));
  expect(await new Promise((r) => child.on("exit", r))).toBe(1);
  expect(stderr).toContain("monitor: cannot reach the database at DATABASE_URL");
  expect(stderr + stdout).not.toContain("db-password-91xq");
});

/** The built service with `env` only (no defaults): its exit code and stderr. */
async function configFailure(env: Record<string, string>): Promise<{ code: unknown; stderr: string }> {
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const code = await new Promise((r) => child.on("exit", r));
  return { code, stderr };
}

test("fail closed: without its credentials the monitor does not start, and says which are missing", async () => {
  const { EVENTS_TOKEN: _e, READ_TOKEN: _r, ALERT_RECEIVER_TOKEN: _a, ...rest } = BASE_ENV;
  const { code, stderr } = await configFailure({ ...rest, DATABASE_URL: db.url });
  expect(code).toBe(1);
  expect(stderr).toContain("EVENTS_TOKEN=(unset): required: the bearer token of POST /v1/events");
  expect(stderr).toContain("READ_TOKEN=(unset): required");
  expect(stderr).toContain("ALERT_RECEIVER_TOKEN=(unset): required");
  expect(stderr).not.toContain(BASE_ENV.FEEDBACK_TOKEN);
});

test("equal credentials, short ones, and a DATABASE_URL with a password: refused without echoing any of them", async () => {
  const shared = "one-token-for-everything-42";
  const { code, stderr } = await configFailure({
    ...BASE_ENV,
    EVENTS_TOKEN: shared,
    FEEDBACK_TOKEN: shared,
    READ_TOKEN: "short-read-tok",
    DATABASE_URL: "mysql://monitor:db-password-77zz@db:3306/monitor",
  });
  expect(code).toBe(1);
  expect(stderr).toContain("FEEDBACK_TOKEN=([redacted], 27 characters): must differ from EVENTS_TOKEN");
  expect(stderr).toContain("READ_TOKEN=([redacted], 14 characters): use at least 16 characters");
  expect(stderr).toContain("DATABASE_URL=([redacted]");
  for (const secret of [shared, "short-read-tok", "db-password-77zz"]) expect(stderr).not.toContain(secret);
});
