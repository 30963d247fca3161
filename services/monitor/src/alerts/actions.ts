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

/**
 * Moves the model's alias (champion) to the version before the one it points at. Safe to repeat: when
 * the alert names a version and the alias no longer points at it (already rolled back, or a person
 * promoted another one), nothing moves.
 */
export async function rollback(mlflow: MlflowClient, alias: string, alert: Alert): Promise<ActionOutcome> {
  const model = alert.labels.model;
  if (!model) return { status: "skipped", detail: {}, error: "the alert has no model label, so there is no model to roll back" };
  const variant = alert.labels.variant;
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
