/**
 * A database service's readiness (the monitor, the platform API): the database answers, and its schema
 * carries every migration this build knows. Without the database every route but the probes fails, so a
 * service that cannot reach it must leave the Service's endpoints (and say why) rather than take traffic
 * it can only answer with 503.
 *
 * Checked on demand, when a probe asks, on a connection of its own with a short timeout: a pool busy with
 * ingestion does not make the monitor unready, and a database that hangs does not hang the probe. The
 * result is kept for `cacheMs`, so however many probes arrive (kubelet, load balancers, people), the
 * database sees at most one short connection per period. Start-up has just connected and migrated, so
 * the first period counts as checked.
 */
import { Client } from "pg";
import type { Logger } from "./logger";
import type { WaitingFor } from "./prerequisite";

export interface ReadinessOptions {
  /** The service's name, in messages and as the check's application_name. */
  service: string;
  url: string;
  /** The schema version this build migrates to (the highest migration). */
  expectedVersion: number;
  /** Longest wait for the connection and the query together. */
  timeoutMs: number;
  /** How long a result is reused before the next probe checks again. */
  cacheMs: number;
}

export class DatabaseReadiness {
  private checkedAt = Date.now();
  private ready = true;
  private reason = "";
  private since?: Date;
  private failures = 0;
  private running?: Promise<boolean>;
  private readonly uri: string;

  constructor(
    private readonly opts: ReadinessOptions,
    private readonly logger: Logger,
  ) {
    this.uri = describeDatabase(opts.url);
  }

  /** The last result while it is fresh, else one check (concurrent probes share it). */
  isReady(): boolean | Promise<boolean> {
    if (Date.now() - this.checkedAt < this.opts.cacheMs) return this.ready;
    return (this.running ??= this.check().finally(() => (this.running = undefined)));
  }

  /** What `/health/ready` shows while not ready. */
  waitingFor(): WaitingFor[] {
    if (this.ready) return [];
    return [{ what: "database", uri: this.uri, reason: this.reason, since: (this.since ?? new Date()).toISOString(), attempts: this.failures }];
  }

  private async check(): Promise<boolean> {
    let problem: string | undefined;
    try {
      const version = await this.schemaVersion();
      if (version < this.opts.expectedVersion) {
        problem = `the schema is at version ${version}, this build needs ${this.opts.expectedVersion}: migrations not applied (they run when the ${this.opts.service} starts)`;
      }
    } catch (err) {
      const e = err as { code?: string; message?: string };
      problem =
        e.code === "42P01"
          ? `the schema is not migrated: the table schema_migrations does not exist (migrations run when the ${this.opts.service} starts)`
          : `the database does not answer: ${e.message ?? String(err)}`;
    }
    this.checkedAt = Date.now();
    if (problem === undefined) {
      if (!this.ready) this.logger.info({ uri: this.uri, failedChecks: this.failures }, "database reachable and migrated again: ready");
      this.ready = true;
      this.reason = "";
      this.since = undefined;
      this.failures = 0;
      return true;
    }
    if (this.ready || problem !== this.reason) this.logger.warn({ uri: this.uri, reason: problem }, "database check failed: not ready");
    if (this.ready) this.since = new Date();
    this.ready = false;
    this.reason = problem;
    this.failures++;
    return false;
  }

  private async schemaVersion(): Promise<number> {
    const { timeoutMs } = this.opts;
    const client = new Client({ connectionString: this.opts.url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs, application_name: `mlops-${this.opts.service}-readiness` });
    client.on("error", () => undefined); // a connection lost after the answer must not crash the process
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const version = (async () => {
        await client.connect();
        const { rows } = await client.query<{ version: number }>("SELECT coalesce(max(version), 0)::int AS version FROM schema_migrations");
        return rows[0].version;
      })();
      version.catch(() => undefined); // lost the race: its rejection is not news
      return await Promise.race([version, deadline]);
    } finally {
      clearTimeout(timer);
      void client.end().catch(() => undefined);
    }
  }
}

/** `postgresql://host:port/db` without credentials or parameters (the URL's password must not reach a probe's body). */
export function describeDatabase(url: string): string {
  try {
    const u = new URL(url);
    return `postgresql://${u.host}${u.pathname}`;
  } catch {
    return "DATABASE_URL";
  }
}
