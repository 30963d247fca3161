/**
 * POST /v1/alerts: Alertmanager's webhook receiver. For each firing alert that ALERT_ACTIONS names, the
 * action is claimed in the database first (key: fingerprint + startsAt + action), then run, then its
 * outcome recorded: who (receiver, group key), what (action, model, detail), why (labels, annotations).
 * A repeated notification of the same alert finds the claim and does nothing, so a rollback happens
 * once; a failed action is retried by the next notification. Resolved alerts act on nothing.
 */
import { createHash } from "node:crypto";
import type { Logger } from "@mlops/common";
import type { Pool } from "pg";
import { rulesFor, type AlertActionRule } from "../config/alert-actions";
import type { MonitorMetrics } from "../metrics";
import type { ActionOutcome, Requester } from "./actions";
import type { Alert, AlertmanagerPayload } from "./payload";

export type ActionRunner = (rule: AlertActionRule, alert: Alert, by: Requester) => Promise<ActionOutcome>;

export interface ActionResult {
  action: string;
  result: "succeeded" | "failed" | "skipped" | "duplicate";
  recordId: number;
  detail?: Record<string, unknown>;
  error?: string;
}

export interface AlertResult {
  alertname: string;
  fingerprint: string;
  status: string;
  model?: string;
  actions: ActionResult[];
}

const CLAIM = `INSERT INTO alert_actions AS a
    (idempotency_key, alertname, fingerprint, starts_at, model, action, status, receiver, group_key, labels, annotations)
  VALUES ($1, $2, $3, $4, $5, $6, 'running', $7, $8, $9, $10)
  ON CONFLICT (idempotency_key) DO UPDATE
    SET status = 'running', attempts = a.attempts + 1, receiver = excluded.receiver, group_key = excluded.group_key,
        error = NULL, updated_at = now()
    WHERE a.status = 'failed'
  RETURNING id`;

export class AlertReceiver {
  constructor(
    private readonly pool: Pool,
    private readonly rules: AlertActionRule[],
    private readonly run: ActionRunner,
    private readonly metrics: MonitorMetrics,
    private readonly logger: Logger,
  ) {}

  async handle(payload: AlertmanagerPayload): Promise<{ alerts: AlertResult[] }> {
    const by: Requester = { receiver: payload.receiver, groupKey: payload.groupKey };
    const alerts: AlertResult[] = [];
    for (const alert of payload.alerts) {
      const base = { alertname: alert.labels.alertname, fingerprint: alert.fingerprint, status: alert.status, model: alert.labels.model };
      if (alert.status !== "firing") {
        alerts.push({ ...base, actions: [] });
        continue;
      }
      const actions: ActionResult[] = [];
      for (const rule of rulesFor(this.rules, alert.labels.alertname, alert.labels.model)) actions.push(await this.act(rule, alert, by));
      alerts.push({ ...base, actions });
    }
    return { alerts };
  }

  private async act(rule: AlertActionRule, alert: Alert, by: Requester): Promise<ActionResult> {
    const key = [alert.fingerprint, alert.startsAt, rule.action, urlKey(rule.url)].join("|");
    const claimed = await this.pool.query<{ id: string }>(CLAIM, [
      key,
      alert.labels.alertname,
      alert.fingerprint,
      new Date(Date.parse(alert.startsAt)).toISOString(),
      alert.labels.model ?? null,
      rule.action,
      by.receiver,
      by.groupKey,
      JSON.stringify(alert.labels),
      JSON.stringify(alert.annotations),
    ]);
    if (claimed.rowCount === 0) {
      const { rows } = await this.pool.query<{ id: string }>("SELECT id FROM alert_actions WHERE idempotency_key = $1", [key]);
      this.metrics.alertActions.inc({ action: rule.action, result: "duplicate" });
      this.logger.info({ alertname: alert.labels.alertname, fingerprint: alert.fingerprint, action: rule.action }, "alert already handled: nothing done");
      return { action: rule.action, result: "duplicate", recordId: Number(rows[0]?.id) };
    }
    const id = Number(claimed.rows[0].id);
    let outcome: ActionOutcome;
    try {
      outcome = await this.run(rule, alert, by);
    } catch (err) {
      outcome = { status: "failed", detail: {}, error: (err as Error).message };
    }
    await this.pool.query("UPDATE alert_actions SET status = $2, detail = $3, error = $4, updated_at = now() WHERE id = $1", [
      id,
      outcome.status,
      JSON.stringify(outcome.detail),
      outcome.error ?? null,
    ]);
    this.metrics.alertActions.inc({ action: rule.action, result: outcome.status });
    const log = { alertname: alert.labels.alertname, fingerprint: alert.fingerprint, action: rule.action, status: outcome.status, detail: outcome.detail, error: outcome.error, receiver: by.receiver };
    if (outcome.status === "failed") this.logger.error(log, "alert action failed");
    else this.logger.info(log, "alert action done");
    return { action: rule.action, result: outcome.status, recordId: id, detail: outcome.detail, ...(outcome.error ? { error: outcome.error } : {}) };
  }
}

/**
 * A rule's own webhook URL in the idempotency key (two retrain rules with different URLs are two actions):
 * as a digest, since the key is stored and the URL may carry a token.
 */
function urlKey(url: string | undefined): string {
  return url ? `sha256:${createHash("sha256").update(url).digest("hex").slice(0, 32)}` : "";
}

export interface ActionRecord {
  id: number;
  alertname: string;
  fingerprint: string;
  startsAt: string;
  model: string | null;
  action: string;
  status: string;
  receiver: string;
  groupKey: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  detail: Record<string, unknown>;
  error: string | null;
  attempts: number;
  createdAt: string;
  updatedAt: string;
}

/** The audit trail, newest first (GET /v1/alerts/actions). */
export async function listActions(pool: Pool, opts: { model?: string; limit: number }): Promise<ActionRecord[]> {
  const { rows } = await pool.query(
    `SELECT id, alertname, fingerprint, starts_at, model, action, status, receiver, group_key, labels, annotations, detail, error, attempts, created_at, updated_at
       FROM alert_actions WHERE ($1::text IS NULL OR model = $1) ORDER BY id DESC LIMIT $2`,
    [opts.model ?? null, opts.limit],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    alertname: r.alertname,
    fingerprint: r.fingerprint,
    startsAt: (r.starts_at as Date).toISOString(),
    model: r.model,
    action: r.action,
    status: r.status,
    receiver: r.receiver,
    groupKey: r.group_key,
    labels: r.labels,
    annotations: r.annotations,
    detail: r.detail,
    error: r.error,
    attempts: r.attempts,
    createdAt: (r.created_at as Date).toISOString(),
    updatedAt: (r.updated_at as Date).toISOString(),
  }));
}
