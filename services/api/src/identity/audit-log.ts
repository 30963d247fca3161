/**
 * The audit log in PostgreSQL: the AuditSink every mutating call writes to (http/endpoint.ts) and the
 * query behind GET /audit. Detail values under secret-looking keys (password, token, secret, key...)
 * are stored as "[redacted]": a handler's detail must never put a credential into the log.
 */
import { isSecretName } from "@mlops/common";
import type { Pool } from "pg";
import type { AuditEntry, AuditSink } from "../http/endpoint";

export interface AuditQuery {
  skip: number;
  limit: number;
  /** The actor's username (case-insensitive). */
  actor?: string;
  action?: string;
  since?: Date;
  until?: Date;
}

export interface StoredAuditEntry extends AuditEntry {
  id: number;
}

const REDACTED = "[redacted]";

/** `key` alone is the whole API key; `key_id` and `name` are fine. */
const isSecretKey = (key: string) => key === "key" || isSecretName(key);

export function scrubSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(scrubSecrets);
  if (value && typeof value === "object" && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, isSecretKey(k) ? REDACTED : scrubSecrets(v)]));
  }
  return value;
}

interface AuditRow {
  id: string;
  at: Date;
  actor_kind: AuditEntry["actor"]["kind"];
  actor_user_id: string | null;
  actor_username: string | null;
  actor_key_id: string | null;
  action: string;
  method: string;
  path: string;
  target: Record<string, string>;
  outcome: AuditEntry["outcome"];
  status: number;
  request_id: string;
  detail: Record<string, unknown>;
}

export class PostgresAuditLog implements AuditSink {
  constructor(private readonly pool: Pool) {}

  async record(e: AuditEntry): Promise<void> {
    await this.pool.query(
      `INSERT INTO audit_log (at, actor_kind, actor_user_id, actor_username, actor_key_id, action, method, path, target, outcome, status, request_id, detail)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      [e.at, e.actor.kind, e.actor.userId, e.actor.username, e.actor.keyId, e.action, e.method, e.path, JSON.stringify(scrubSecrets(e.target)), e.outcome, e.status, e.requestId, JSON.stringify(scrubSecrets(e.detail))],
    );
  }

  /** Newest first. */
  async query(q: AuditQuery): Promise<{ entries: StoredAuditEntry[]; total: number }> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      args.push(value);
      where.push(sql.replace("?", `$${args.length}`));
    };
    if (q.actor !== undefined) add("lower(actor_username) = lower(?)", q.actor);
    if (q.action !== undefined) add("action = ?", q.action);
    if (q.since !== undefined) add("at >= ?", q.since);
    if (q.until !== undefined) add("at < ?", q.until);
    const filter = where.length ? `WHERE ${where.join(" AND ")}` : "";
    const [page, count] = await Promise.all([
      this.pool.query<AuditRow>(`SELECT * FROM audit_log ${filter} ORDER BY at DESC, id DESC LIMIT $${args.length + 1} OFFSET $${args.length + 2}`, [...args, q.limit, q.skip]),
      this.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log ${filter}`, args),
    ]);
    return { entries: page.rows.map(entryOf), total: count.rows[0].n };
  }
}

function entryOf(r: AuditRow): StoredAuditEntry {
  return {
    id: Number(r.id),
    at: r.at,
    actor: { kind: r.actor_kind, userId: r.actor_user_id === null ? null : Number(r.actor_user_id), username: r.actor_username, keyId: r.actor_key_id },
    action: r.action,
    method: r.method,
    path: r.path,
    target: r.target,
    outcome: r.outcome,
    status: r.status,
    requestId: r.request_id,
    detail: r.detail,
  };
}
