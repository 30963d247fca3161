/**
 * What an alert can make the monitor do. Each returns an outcome for the audit record and never
 * throws for expected failures (MLflow down, webhook refused): those are recorded as `failed`.
 */
import { MlflowError, deliverWebhook, type MlflowClient } from "@mlops/common";
import type { Alert } from "./payload";

export type ActionStatus = "succeeded" | "failed" | "skipped";

export interface ActionOutcome {
  status: ActionStatus;
  detail: Record<string, unknown>;
  error?: string;
}

export interface Requester {
  receiver: string;
  groupKey: string;
}

/** The registry aliases a rollback acts on. */
export interface RollbackAliases {
  /** Moved back to the previous version when the champion misbehaves (ROLLBACK_ALIAS). */
  champion: string;
  /** Removed when the challenger misbehaves, so serving stops routing to it (CHALLENGER_ALIAS). */
  challenger: string;
}

/**
 * The rollback action. An alert about the champion (or naming no variant) moves the champion alias to the
 * version before the one it points at; an alert about the challenger demotes the challenger: its alias is
 * removed, so serving sends its share of traffic back to the champion. Safe to repeat: when the alert names
 * a version and the alias no longer points at it (already rolled back or demoted, or a person set another
 * one), or the challenger alias is gone already, nothing changes (`skipped`). A shadow challenger answers
 * no traffic, so an alert about the shadow variant changes nothing either.
 */
export async function rollback(mlflow: MlflowClient, aliases: RollbackAliases, alert: Alert): Promise<ActionOutcome> {
  const model = alert.labels.model;
  if (!model) return { status: "skipped", detail: {}, error: "the alert has no model label, so there is no model to roll back" };
  const variant = alert.labels.variant;
  if (variant === "challenger") return demoteChallenger(mlflow, aliases.challenger, model, alert.labels.version);
  const alias = aliases.champion;
  if (variant && variant !== "champion") {
    return { status: "skipped", detail: { model, variant }, error: `the alert is about the ${variant} variant; rollback moves only the ${alias} alias` };
  }
  try {
    const current = await mlflow.getModelVersionByAlias(model, alias);
    const alerting = alert.labels.version;
    if (alerting && alerting !== current.version) {
      return {
        status: "skipped",
        detail: { model, alias, current: current.version, alerting },
        error: `${model}@${alias} is version ${current.version}, not the alerting version ${alerting}: nothing to roll back`,
      };
    }
    const previous = (await mlflow.listModelVersions(model))
      .filter((v) => Number(v.version) < Number(current.version) && (v.status === undefined || v.status === "READY"))
      .sort((a, b) => Number(b.version) - Number(a.version))[0];
    if (!previous) return { status: "failed", detail: { model, alias, from: current.version }, error: `${model} has no ready version before ${current.version} to roll back to` };
    await mlflow.setAlias(model, alias, previous.version);
    return { status: "succeeded", detail: { model, alias, from: current.version, to: previous.version } };
  } catch (err) {
    if (err instanceof MlflowError) return { status: "failed", detail: { model, alias }, error: err.message };
    throw err;
  }
}

/** Removes the challenger alias (`DELETE registered-models/alias`); recorded as `{from: <version>, to: null}`. */
async function demoteChallenger(mlflow: MlflowClient, alias: string, model: string, alerting: string | undefined): Promise<ActionOutcome> {
  const absent = (err: unknown) => err instanceof MlflowError && err.status === 404;
  const nothingToDo: ActionOutcome = { status: "skipped", detail: { model, alias }, error: `${model} has no ${alias} alias (already demoted): nothing to demote` };
  try {
    let current: string;
    try {
      current = (await mlflow.getModelVersionByAlias(model, alias)).version;
    } catch (err) {
      if (absent(err)) return nothingToDo;
      throw err;
    }
    if (alerting && alerting !== current) {
      return {
        status: "skipped",
        detail: { model, alias, current, alerting },
        error: `${model}@${alias} is version ${current}, not the alerting version ${alerting}: nothing to demote`,
      };
    }
    try {
      await mlflow.deleteAlias(model, alias);
    } catch (err) {
      if (absent(err)) return nothingToDo; // removed between the read and the delete
      throw err;
    }
    return { status: "succeeded", detail: { model, alias, from: current, to: null } };
  } catch (err) {
    if (err instanceof MlflowError) return { status: "failed", detail: { model, alias }, error: err.message };
    throw err;
  }
}

export interface RetrainTarget {
  url: string;
  secret: string;
  retries: number;
  backoffMs: number;
  timeoutMs: number;
}

/** The body of the retraining webhook (HMAC-signed by deliverWebhook). */
export function retrainRequest(alert: Alert, by: Requester, now = new Date()) {
  return {
    type: "retrain_requested",
    model: alert.labels.model ?? null,
    requestedAt: now.toISOString(),
    requestedBy: { source: "alertmanager", receiver: by.receiver, groupKey: by.groupKey },
    reason: { alertname: alert.labels.alertname, fingerprint: alert.fingerprint, startsAt: alert.startsAt, labels: alert.labels, annotations: alert.annotations },
  };
}

export async function retrain(target: RetrainTarget, alert: Alert, by: Requester): Promise<ActionOutcome> {
  const result = await deliverWebhook(retrainRequest(alert, by), target);
  const detail = { url: target.url, attempts: result.attempts, ...(result.status ? { httpStatus: result.status } : {}) };
  return result.delivered ? { status: "succeeded", detail } : { status: "failed", detail, error: `the retraining webhook failed: ${result.error ?? "unknown error"}` };
}
