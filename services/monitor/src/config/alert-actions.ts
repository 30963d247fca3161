/**
 * ALERT_ACTIONS: which Alertmanager alerts the monitor acts on, and how.
 *
 *   [{"alert": "ModelQualityLow", "model": "fraud-detector", "action": "rollback"},
 *    {"alert": "DataDriftCritical", "action": "retrain", "url": "https://ci.example/hooks/retrain"}]
 *
 * (the form the Kubernetes component writes; `model` omitted = any model), or the shorthand
 * `{"ModelQualityLow": "rollback", "DataDriftCritical": ["retrain"]}`.
 */
import { z } from "zod";

export const ACTIONS = ["rollback", "retrain"] as const;
export type ActionKind = (typeof ACTIONS)[number];

export interface AlertActionRule {
  alert: string;
  /** Only alerts whose `model` label is this; undefined = any model. */
  model?: string;
  action: ActionKind;
  /** Retraining webhook of this rule (else RETRAIN_WEBHOOK_URL). */
  url?: string;
}

const action = z.enum(ACTIONS, { message: `expected one of ${ACTIONS.join(", ")}` });
const ruleSchema = z
  .object({
    alert: z.string().min(1),
    model: z.string().min(1).optional(),
    action,
    url: z.url().optional(),
  })
  .strict();
const schema = z.union([z.array(ruleSchema), z.record(z.string().min(1), z.union([action, z.array(action).min(1)]))]);

export function parseAlertActions(text: string, source = "ALERT_ACTIONS"): AlertActionRule[] {
  if (!text.trim()) return [];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    // The union hides the useful message: report against the form the value resembles.
    const form = Array.isArray(raw) ? z.array(ruleSchema) : z.record(z.string(), z.array(action).min(1));
    const entries = raw !== null && typeof raw === "object" && !Array.isArray(raw) ? Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Array.isArray(v) ? v : [v]])) : raw;
    const detail = form.safeParse(Array.isArray(raw) ? raw : entries);
    const issue = (detail.success ? parsed.error : detail.error).issues[0];
    const where = Array.isArray(raw) ? issue.path : issue.path.slice(0, 1);
    throw new Error(
      `${source}: ${where.join(".") || "(root)"}: ${issue.message} (expected [{"alert", "model"?, "action": "rollback"|"retrain", "url"?}] or {"<alertname>": "rollback"|"retrain"})`,
    );
  }
  if (Array.isArray(parsed.data)) return parsed.data.map((r) => ({ ...r }));
  return Object.entries(parsed.data).flatMap(([alert, a]) => (Array.isArray(a) ? a : [a]).map((kind) => ({ alert, action: kind })));
}

/** The rules that apply to an alert (same alertname; the rule's model, if any, equals the alert's). */
export function rulesFor(rules: AlertActionRule[], alertname: string, model: string | undefined): AlertActionRule[] {
  return rules.filter((r) => r.alert === alertname && (r.model === undefined || r.model === model));
}
