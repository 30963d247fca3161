/**
 * What an alert can make the monitor do. Each returns an outcome for the audit record and never
 * throws for expected failures (MLflow down, webhook refused): those are recorded as `failed`.
 */
import { MlflowError, deliverWebhook, redactUrl, type MlflowClient } from "@mlops/common";
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
  /**
   * Pointed at the champion's version when the challenger misbehaves (CHALLENGER_ALIAS): serving treats a
   * challenger that resolves to the champion's version as no challenger, so its traffic share goes back to
   * the champion. Moving an alias needs MLflow's EDIT; deleting one would need MANAGE, which the monitor lacks.
   */
  challenger: string;
}

/**
 * The rollback action. An alert about the champion (or naming no variant) moves the champion alias to the
 * version before the one it points at (and a demoted challenger, which pointed at the old champion version,
 * along with it, so it stays "no challenger"); an alert about the challenger demotes the challenger: its
 * alias is pointed at the champion's version, so serving sends its share of traffic back to the champion.
 * Safe to repeat: when the alert names a version and the alias no longer points at it (already rolled back
 * or demoted, or a person set another one), or the challenger is demoted or absent already, nothing changes
 * (`skipped`). A shadow challenger answers no traffic, so an alert about the shadow variant changes nothing.
 */
export async function rollback(mlflow: MlflowClient, aliases: RollbackAliases, alert: Alert): Promise<ActionOutcome> {
  const model = alert.labels.model;
  if (!model) return { status: "skipped", detail: {}, error: "the alert has no model label, so there is no model to roll back" };
  const variant = alert.labels.variant;
  if (variant === "challenger") return demoteChallenger(mlflow, aliases, model, alert.labels.version);
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
    const challenger = await followChampion(mlflow, aliases.challenger, model, current.version, previous.version);
    return { status: "succeeded", detail: { model, alias, from: current.version, to: previous.version, ...(challenger ? { challenger } : {}) } };
  } catch (err) {
    if (err instanceof MlflowError) return { status: "failed", detail: { model, alias }, error: err.message };
    throw err;
  }
}

const isAbsent = (err: unknown) => err instanceof MlflowError && err.status === 404;

/** The version an alias points at, or undefined when the model has no such alias. */
async function aliasVersion(mlflow: MlflowClient, model: string, alias: string): Promise<string | undefined> {
  try {
    return (await mlflow.getModelVersionByAlias(model, alias)).version;
  } catch (err) {
    if (isAbsent(err)) return undefined;
    throw err;
  }
}

/**
 * After the champion moved from `from` to `to`: a challenger that pointed at `from` was "no challenger"
 * (demoted); left there it would route traffic to the version just rolled back. It follows the champion.
 */
async function followChampion(mlflow: MlflowClient, alias: string, model: string, from: string, to: string): Promise<{ alias: string; from: string; to: string } | undefined> {
  if ((await aliasVersion(mlflow, model, alias)) !== from) return undefined;
  await mlflow.setAlias(model, alias, to);
  return { alias, from, to };
}

/**
 * Points the challenger alias at the champion's version (`POST registered-models/alias`, EDIT); recorded as
 * `{from: <challenger version>, to: <champion version>, sameAs: <champion alias>}`.
 */
async function demoteChallenger(mlflow: MlflowClient, aliases: RollbackAliases, model: string, alerting: string | undefined): Promise<ActionOutcome> {
  const alias = aliases.challenger;
  try {
    const current = await aliasVersion(mlflow, model, alias);
    if (current === undefined) return { status: "skipped", detail: { model, alias }, error: `${model} has no ${alias} alias: nothing to demote` };
    const champion = await aliasVersion(mlflow, model, aliases.champion);
    if (champion === undefined) {
      return { status: "failed", detail: { model, alias, current }, error: `${model} has no ${aliases.champion} alias: no version to point ${alias} at` };
    }
    if (current === champion) {
      return {
        status: "skipped",
        detail: { model, alias, current, sameAs: aliases.champion },
        error: `${model}@${alias} is the ${aliases.champion} version ${champion} already (demoted): nothing to demote`,
      };
    }
    if (alerting && alerting !== current) {
      return {
        status: "skipped",
        detail: { model, alias, current, alerting },
        error: `${model}@${alias} is version ${current}, not the alerting version ${alerting}: nothing to demote`,
      };
    }
    await mlflow.setAlias(model, alias, champion);
    return { status: "succeeded", detail: { model, alias, from: current, to: champion, sameAs: aliases.champion } };
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

/**
 * Calls the retraining webhook. Its URL often carries a token (a CI trigger, a Slack hook), so the outcome,
 * which is stored, answered by GET /v1/alerts/actions and logged, shows it by origin only (redactUrl), in
 * the detail and in any error text that quotes it.
 */
export async function retrain(target: RetrainTarget, alert: Alert, by: Requester): Promise<ActionOutcome> {
  const result = await deliverWebhook(retrainRequest(alert, by), target);
  const detail = { url: redactUrl(target.url), attempts: result.attempts, ...(result.status ? { httpStatus: result.status } : {}) };
  if (result.delivered) return { status: "succeeded", detail };
  return { status: "failed", detail, error: `the retraining webhook failed: ${withoutUrl(result.error ?? "unknown error", target.url)}` };
}

/** `text` with every spelling of `url` (as given, as parsed) replaced by its redacted form. */
export function withoutUrl(text: string, url: string): string {
  const spellings = new Set([url]);
  try {
    spellings.add(new URL(url).href);
  } catch {
    /* not a URL: only the text as given */
  }
  let out = text;
  for (const s of spellings) out = out.split(s).join(redactUrl(url));
  return out;
}
