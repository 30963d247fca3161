/**
 * `npm run demo:traffic`: realistic traffic against the local platform (`npm start`), then a shift.
 *
 *   npm run demo:traffic [-- --baseline 30] [-- --rate 400] [-- --feedback-delay 2] [-- --timeout 180] [-- --state-dir .local]
 *
 * --state-dir: the one `npm start` was given (default: $MLOPS_LOCAL_STATE_DIR, else .local; relative to
 * the repository root, as for npm start).
 *
 * Sends card transactions of the demo fraud data to serving (MLflow `/invocations`, 20 rows a request,
 * each request with its `x-request-id`), and the true label of each prediction to the monitor a few
 * seconds later, as a fraud team confirms cases. After the baseline it sends transactions from the
 * shifted distribution and watches the platform react: drift detected, accuracy down, the alert firing
 * in Prometheus, the monitor's recorded action. Prints each as it happens and where to look.
 *
 * Exit 0 when the platform reacted in full, 1 when something did not happen within --timeout seconds
 * of the shift, 2 on a usage error or when the platform is not running.
 */
import path from "node:path";
import { FEATURES, generateFraudData, type FraudData } from "@mlops/dev-fixtures";
import { PROFILES } from "../../infra/profiles";
import { readAdminPassword, ADMIN_USERNAME } from "./admin-password";
import { ApiSession } from "./api-session";
import { bearer, readCredentials, type LocalCredentials } from "./credentials";
import { ACCURACY_THRESHOLD, LOCAL_TIMINGS, LocalPlatformError, readState, resolveStateDir, STATE_DIR_ENV, type PlatformState } from "./layout";

export interface DemoTrafficOptions {
  state: PlatformState;
  baselineSeconds?: number;
  rowsPerSecond?: number;
  rowsPerRequest?: number;
  feedbackDelaySeconds?: number;
  /** How long after the shift the platform has to react. */
  timeoutSeconds?: number;
  seed?: number;
  log?: (line: string) => void;
}

/** Seconds after the shift at which each reaction was first seen. */
export interface Milestones {
  driftDetected?: number;
  qualityLow?: number;
  alertFiring?: number;
  actionRecorded?: number;
}

export interface RecordedAction {
  alertname: string;
  action: string;
  status: string;
  model: string | null;
  createdAt: string;
  detail: Record<string, unknown>;
  error: string | null;
}

export interface DemoResult {
  completed: boolean;
  /** What the platform did not show in time (empty when completed). */
  missing: (keyof Milestones)[];
  milestones: Milestones;
  requests: number;
  rows: number;
  failedRequests: number;
  feedbackSent: number;
  driftShare?: number;
  accuracy?: number;
  firingAlerts: string[];
  actions: RecordedAction[];
  /** What the demo did through the platform API (when it runs and the demo could log in). */
  api?: ApiTour;
}

/** The platform API calls of the demo, besides the predictions it sends through it. */
export interface ApiTour {
  user: string;
  role: string;
  championVersion?: string;
  championAccuracy?: number;
  /** The single prediction explained, its three strongest attributions. */
  explained?: { prediction_id: string; class: string; probability: number; top: [string, number][] };
  /** The feedback sent through PATCH /predictions/{id}. */
  feedback?: { prediction_id: string; status: string };
  /** GET /models/{id}/predictions over the demo's time: how many, and the accuracy of the first page. */
  history?: { total: number; accuracy: number | null };
}

/** The thresholds the local alert rules are built with (scripts/local/monitoring.ts). */
const DRIFT_SHARE_WARNING = PROFILES.dev.alerts.driftShareWarning;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<T | undefined> {
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
    if (!res.ok) {
      await res.arrayBuffer();
      return undefined;
    }
    return (await res.json()) as T;
  } catch {
    return undefined;
  }
}

/** Rows of a data set, in a loop, with their labels. */
class RowSource {
  private next = 0;
  constructor(private readonly data: FraudData) {}

  take(n: number): { rows: number[][]; labels: number[] } {
    const width = this.data.features.length;
    const rows: number[][] = [];
    const labels: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = this.next++ % this.data.labels.length;
      rows.push(Array.from(this.data.values.subarray(r * width, (r + 1) * width), (v) => Math.round(v * 1e4) / 1e4));
      labels.push(this.data.labels[r]);
    }
    return { rows, labels };
  }
}

/** Predictions to serving; their truth to the monitor once it is "known". */
class TrafficSender {
  requests = 0;
  rows = 0;
  failed = 0;
  feedbackSent = 0;
  private readonly pending: { dueAt: number; items: { prediction_id: string; actual: number }[] }[] = [];
  private readonly runId = Date.now().toString(36);
  lastError = "";

  constructor(
    private readonly state: PlatformState,
    private readonly credentials: LocalCredentials,
    private readonly rowsPerRequest: number,
    private readonly feedbackDelayMs: number,
    /** Signed in to the platform API: predictions go through its batch endpoint, else straight to serving. */
    private readonly api?: ApiSession,
  ) {}

  async send(source: RowSource): Promise<void> {
    const { rows, labels } = source.take(this.rowsPerRequest);
    const requestId = `demo-${this.runId}-${this.requests++}`;
    const ids = rows.map((_, i) => `${requestId}:${i}`);
    try {
      if (this.api) {
        const instances = rows.map((row, i) => ({ prediction_id: ids[i], features: Object.fromEntries(FEATURES.map((f, j) => [f, row[j]])) }));
        await this.api.request("POST", `/models/${this.state.model}/predict/batch`, { instances });
      } else {
        const res = await fetch(`${this.state.urls.serving}/invocations`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-request-id": requestId, ...bearer(this.credentials.servingApiKey) },
          body: JSON.stringify({ dataframe_split: { columns: FEATURES, data: rows } }),
          signal: AbortSignal.timeout(10_000),
        });
        const text = await res.text();
        if (!res.ok) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
      }
      this.rows += rows.length;
      if (this.state.urls.monitor) {
        this.pending.push({ dueAt: Date.now() + this.feedbackDelayMs, items: labels.map((actual, i) => ({ prediction_id: ids[i], actual })) });
      }
    } catch (err) {
      this.failed++;
      this.lastError = (err as Error).message;
    }
  }

  /** Sends the feedback that is due (all of it with `all`). */
  async flushFeedback(all = false): Promise<void> {
    if (!this.state.urls.monitor) return;
    const now = Date.now();
    const due: { prediction_id: string; actual: number }[] = [];
    while (this.pending.length && (all || this.pending[0].dueAt <= now)) due.push(...this.pending.shift()!.items);
    if (!due.length) return;
    try {
      const res = await fetch(`${this.state.urls.monitor}/v1/feedback`, {
        method: "POST",
        headers: { "content-type": "application/json", ...bearer(this.credentials.feedbackToken) },
        body: JSON.stringify(due),
        signal: AbortSignal.timeout(10_000),
      });
      await res.arrayBuffer();
      if (res.ok) this.feedbackSent += due.length;
      else this.lastError = `feedback: HTTP ${res.status}`;
    } catch (err) {
      this.lastError = `feedback: ${(err as Error).message}`;
    }
  }
}

interface Observation {
  driftShare?: number;
  datasetDrift?: boolean;
  accuracy?: number;
  labels?: number;
  firing: string[];
  actions: RecordedAction[];
}

/** One look at the platform through its own APIs. */
async function observe(state: PlatformState, credentials: LocalCredentials, since: string): Promise<Observation> {
  const reader = bearer(credentials.readToken);
  const drift = await getJson<{ status: string; driftShare?: number; datasetDrift?: boolean }>(`${state.urls.drift}/v1/drift`);
  const obs: Observation = { firing: [], actions: [] };
  if (drift?.status === "ok") {
    obs.driftShare = drift.driftShare;
    obs.datasetDrift = drift.datasetDrift;
  }
  if (state.urls.monitor) {
    const quality = await getJson<{ variants: { variant: string; accuracy: number | null; labels: number }[] }>(
      `${state.urls.monitor}/v1/models/${state.model}/quality?window=${LOCAL_TIMINGS.qualityWindow}`,
      reader,
    );
    const champion = quality?.variants.find((v) => v.variant === "champion");
    if (champion) {
      obs.accuracy = champion.accuracy ?? undefined;
      obs.labels = champion.labels;
    }
    const actions = await getJson<{ actions: RecordedAction[] }>(`${state.urls.monitor}/v1/alerts/actions?model=${state.model}&limit=50`, reader);
    obs.actions = (actions?.actions ?? []).filter((a) => a.createdAt >= since);
  }
  if (state.urls.prometheus) {
    const alerts = await getJson<{ data: { alerts: { state: string; labels: Record<string, string> }[] } }>(`${state.urls.prometheus}/api/v1/alerts`);
    obs.firing = [...new Set((alerts?.data.alerts ?? []).filter((a) => a.state === "firing" && a.labels.model === state.model).map((a) => a.labels.alertname))].sort();
  }
  return obs;
}

function statusLine(label: string, sender: TrafficSender, obs: Observation): string {
  const share = obs.driftShare === undefined ? "n/a (window filling)" : obs.driftShare.toFixed(2);
  const accuracy = obs.accuracy === undefined ? "n/a" : `${obs.accuracy.toFixed(3)} (${obs.labels} labels)`;
  const alerts = obs.firing.length ? obs.firing.join(", ") : "none firing";
  return `${label.padEnd(10)} ${sender.rows.toLocaleString("en-US").padStart(8)} rows   drift share ${share}   accuracy(${LOCAL_TIMINGS.qualityWindow}) ${accuracy}   alerts: ${alerts}`;
}

/** The milestones this platform can show: those of the components that run. */
export function expectedMilestones(state: PlatformState): (keyof Milestones)[] {
  const expected: (keyof Milestones)[] = ["driftDetected"];
  if (state.urls.monitor) expected.push("qualityLow");
  if (state.urls.prometheus) expected.push("alertFiring");
  if (state.urls.monitor && state.urls.alertmanager) expected.push("actionRecorded");
  return expected;
}

/** Logs in to the platform API as its admin; undefined (predictions go to serving) when it does not run or the password is unknown. */
async function signIn(state: PlatformState, log: (line: string) => void): Promise<ApiSession | undefined> {
  if (!state.urls.api) return undefined;
  const password = readAdminPassword(path.join(state.stateDir, "config"));
  if (!password) {
    log(`(the platform API runs, but its admin password is not known here: set MLOPS_ADMIN_PASSWORD as for npm start; predictions go straight to serving)`);
    return undefined;
  }
  try {
    const session = await ApiSession.login(state.urls.api, ADMIN_USERNAME, password);
    log(`logged in to the platform API (${state.urls.api}) as ${session.user.username}, role ${session.user.role}: predictions go through it`);
    return session;
  } catch (err) {
    log(`(could not log in to the platform API: ${(err as Error).message}; predictions go straight to serving)`);
    return undefined;
  }
}

/** Before the traffic: the model as the registry has it, and one prediction explained. */
async function apiTourBefore(api: ApiSession, state: PlatformState, source: RowSource, log: (line: string) => void): Promise<ApiTour> {
  const tour: ApiTour = { user: api.user.username, role: api.user.role };
  try {
    const model = await api.request<{ version: string | null; accuracy: number | null }>("GET", `/models/${state.model}`);
    tour.championVersion = model.version ?? undefined;
    tour.championAccuracy = model.accuracy ?? undefined;
    log(`  the registry's ${state.model}: champion version ${model.version}, accuracy ${model.accuracy?.toFixed(3) ?? "n/a"} (GET /models/${state.model})`);
    const { rows } = source.take(1);
    const answer = await api.request<{ prediction_id: string; prediction: { class: string; probability: number }; feature_importance?: Record<string, number> }>(
      "POST",
      `/models/${state.model}/predict?explain=true`,
      { features: Object.fromEntries(FEATURES.map((f, j) => [f, rows[0][j]])), metadata: { request_source: "demo-traffic" } },
    );
    const top = Object.entries(answer.feature_importance ?? {}).slice(0, 3);
    tour.explained = { prediction_id: answer.prediction_id, class: answer.prediction.class, probability: answer.prediction.probability, top };
    log(`  one prediction explained: ${answer.prediction.class} (${answer.prediction.probability.toFixed(3)}); strongest features ${top.map(([f, v]) => `${f} ${v >= 0 ? "+" : ""}${v.toFixed(3)}`).join(", ")}`);
  } catch (err) {
    log(`  (platform API: ${(err as Error).message})`);
  }
  return tour;
}

/** After the traffic: ground truth with a note for the explained prediction, and the history the monitor kept. */
async function apiTourAfter(api: ApiSession, state: PlatformState, tour: ApiTour, since: string, log: (line: string) => void): Promise<void> {
  try {
    if (tour.explained) {
      const fb = await api.request<{ status: string }>("PATCH", `/predictions/${encodeURIComponent(tour.explained.prediction_id)}`, {
        actual: tour.explained.class,
        feedback: "confirmed by the demo's fraud team",
      });
      tour.feedback = { prediction_id: tour.explained.prediction_id, status: fb.status };
    }
    const page = await api.request<{ total: number; accuracy: number | null }>("GET", `/models/${state.model}/predictions?start_date=${encodeURIComponent(since)}&limit=100`);
    tour.history = { total: page.total, accuracy: page.accuracy };
    log(`platform API: ${page.total.toLocaleString("en-US")} predictions recorded since the start, accuracy of the latest 100 ${page.accuracy === null ? "n/a" : page.accuracy.toFixed(3)} (GET /models/${state.model}/predictions)`);
    await api.logout();
  } catch (err) {
    log(`  (platform API: ${(err as Error).message})`);
  }
}

export async function runDemoTraffic(opts: DemoTrafficOptions): Promise<DemoResult> {
  const { state } = opts;
  const log = opts.log ?? (() => undefined);
  const rowsPerSecond = opts.rowsPerSecond ?? 400;
  // 50 rows a request: at 400 rows/s, 8 requests/s, inside the API's 1,000 predictions a minute per principal.
  const rowsPerRequest = opts.rowsPerRequest ?? 50;
  const baselineMs = (opts.baselineSeconds ?? 30) * 1000;
  const timeoutMs = (opts.timeoutSeconds ?? 180) * 1000;
  const seed = opts.seed ?? Date.now() % 100_000;
  const intervalMs = (1000 * rowsPerRequest) / rowsPerSecond;

  const baseline = new RowSource(generateFraudData({ rows: 50_000, seed }));
  const shifted = new RowSource(generateFraudData({ rows: 50_000, seed: seed + 1, shift: 1 }));
  const credentials = readCredentials(state.credentialsFile);
  const api = await signIn(state, log);
  const tour: ApiTour | undefined = api ? await apiTourBefore(api, state, baseline, log) : undefined;
  const sender = new TrafficSender(state, credentials, rowsPerRequest, (opts.feedbackDelaySeconds ?? 2) * 1000, api);
  const expected = expectedMilestones(state);
  const milestones: Milestones = {};

  let source = baseline;
  let stop = false;
  const traffic = (async () => {
    let next = Date.now();
    while (!stop) {
      await sender.send(source);
      next += intervalMs;
      await sleep(Math.max(0, next - Date.now()));
    }
  })();
  const feedback = (async () => {
    while (!stop) {
      await sender.flushFeedback();
      await sleep(250);
    }
  })();

  log(`baseline: ${rowsPerSecond} transactions/s like the training data, labels after ${opts.feedbackDelaySeconds ?? 2} s, for ${baselineMs / 1000} s`);
  const started = Date.now();
  let obs: Observation = { firing: [], actions: [] };
  while (Date.now() - started < baselineMs) {
    await sleep(Math.min(5000, baselineMs - (Date.now() - started)));
    obs = await observe(state, credentials, new Date(started).toISOString());
    log(statusLine(`t+${Math.round((Date.now() - started) / 1000)}s`, sender, obs));
  }

  const shiftAt = Date.now();
  const since = new Date(shiftAt).toISOString();
  source = shifted;
  log("shift: transactions now come from a shifted distribution (v4, v12, v14, v18..v28 and the amount move; v14 no longer signals fraud)");
  let lastPrint = 0;
  while (Date.now() - shiftAt < timeoutMs && !expected.every((m) => milestones[m] !== undefined)) {
    await sleep(2000);
    obs = await observe(state, credentials, since);
    const at = Math.round((Date.now() - shiftAt) / 1000);
    const reach = (m: keyof Milestones, reached: boolean, message: () => string) => {
      if (reached && milestones[m] === undefined) {
        milestones[m] = at;
        log(`  [+${at}s] ${message()}`);
      }
    };
    reach("driftDetected", obs.datasetDrift === true || (obs.driftShare ?? 0) >= DRIFT_SHARE_WARNING, () => `drift detected: ${Math.round((obs.driftShare ?? 0) * 100)}% of the features drifted (${state.urls.driftReport})`);
    reach("qualityLow", obs.accuracy !== undefined && obs.accuracy < ACCURACY_THRESHOLD, () => `quality dropped: accuracy ${obs.accuracy!.toFixed(3)} over the last ${LOCAL_TIMINGS.qualityWindow} (threshold ${ACCURACY_THRESHOLD})`);
    reach("alertFiring", obs.firing.length > 0, () => `alert firing in Prometheus: ${obs.firing.join(", ")} (${state.urls.prometheus}/alerts)`);
    reach("actionRecorded", obs.actions.length > 0, () => {
      const a = obs.actions[obs.actions.length - 1];
      return `the monitor acted: ${a.action} for ${a.alertname}, ${a.status} (${state.urls.monitor}/v1/alerts/actions)`;
    });
    if (Date.now() - lastPrint >= 5000) {
      lastPrint = Date.now();
      log(statusLine(`shift+${at}s`, sender, obs));
    }
  }

  stop = true;
  await Promise.all([traffic, feedback]);
  await sender.flushFeedback(true);
  if (sender.failed) log(`${sender.failed} of ${sender.requests} requests failed; last error: ${sender.lastError}`);
  if (api && tour) await apiTourAfter(api, state, tour, new Date(started).toISOString(), log);
  const missing = expected.filter((m) => milestones[m] === undefined);
  return {
    api: tour,
    completed: missing.length === 0,
    missing,
    milestones,
    requests: sender.requests,
    rows: sender.rows,
    failedRequests: sender.failed,
    feedbackSent: sender.feedbackSent,
    driftShare: obs.driftShare,
    accuracy: obs.accuracy,
    firingAlerts: obs.firing,
    actions: obs.actions,
  };
}

const WHAT: Record<keyof Milestones, string> = {
  driftDetected: "drift detected",
  qualityLow: "accuracy below the threshold",
  alertFiring: "an alert firing in Prometheus",
  actionRecorded: "the monitor's action recorded",
};

function parseArgs(argv: string[]): { stateDir: string; stateDirGiven: boolean; options: Omit<DemoTrafficOptions, "state"> } {
  const numbers: Record<string, keyof DemoTrafficOptions> = { "--baseline": "baselineSeconds", "--rate": "rowsPerSecond", "--feedback-delay": "feedbackDelaySeconds", "--timeout": "timeoutSeconds" };
  const options: Record<string, number> = {};
  let stateDir: string | undefined;
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new LocalPlatformError(`${flag} needs a value`);
    if (flag === "--state-dir") stateDir = value;
    else if (numbers[flag]) {
      const n = Number(value);
      if (!Number.isFinite(n) || n <= 0) throw new LocalPlatformError(`${flag}: expected a positive number, got ${JSON.stringify(value)}`);
      options[numbers[flag]] = n;
    } else throw new LocalPlatformError(`unknown option ${JSON.stringify(flag)}; options: ${[...Object.keys(numbers), "--state-dir"].join(", ")}`);
  }
  return { stateDir: resolveStateDir(stateDir), stateDirGiven: stateDir !== undefined || Boolean(process.env[STATE_DIR_ENV]), options };
}

async function main(): Promise<number> {
  const log = (line: string) => process.stdout.write(`${line}\n`);
  let args: ReturnType<typeof parseArgs>;
  let state: PlatformState;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`demo:traffic: ${(err as Error).message}\n`);
    return 2;
  }
  try {
    state = readState(args.stateDir);
  } catch (err) {
    const hint = args.stateDirGiven ? "" : `\n(npm start -- --state-dir <dir>? Give the demo the same: npm run demo:traffic -- --state-dir <dir>, or set ${STATE_DIR_ENV}=<dir> for both.)`;
    process.stderr.write(`demo:traffic: ${(err as Error).message}${hint}\n`);
    return 2;
  }
  const skipped = state.components.filter((c) => c.status === "skipped");
  for (const c of skipped) log(`(${c.name} is not running: ${c.reason}; the demo shows less)`);
  const result = await runDemoTraffic({ state, ...args.options, log });
  log("");
  log(`sent ${result.rows.toLocaleString("en-US")} predictions in ${result.requests} requests, ${result.feedbackSent.toLocaleString("en-US")} labels`);
  if (result.completed) log("the platform saw the shift, alerted and acted.");
  else log(`not seen within the timeout: ${result.missing.map((m) => WHAT[m]).join(", ")}. The logs are in ${path.join(state.stateDir, "logs")}.`);
  log("");
  log("Where to look:");
  if (state.urls.api) log(`  platform API docs:    ${state.urls.api}/docs`);
  log(`  drift report (HTML):  ${state.urls.driftReport}`);
  log(`  drift as JSON:        ${state.urls.drift}/v1/drift`);
  if (state.urls.monitor) log(`  model quality:        ${state.urls.monitor}/v1/models/${state.model}/quality?window=${LOCAL_TIMINGS.qualityWindow}`);
  if (state.urls.monitor) log(`  alert actions:        ${state.urls.monitor}/v1/alerts/actions`);
  if (state.urls.prometheus) log(`  alerts (Prometheus):  ${state.urls.prometheus}/alerts`);
  if (state.urls.alertmanager) log(`  Alertmanager:         ${state.urls.alertmanager}`);
  log(`  metrics:              ${state.urls.servingMetrics}  ${state.urls.driftMetrics}${state.urls.monitorMetrics ? `  ${state.urls.monitorMetrics}` : ""}`);
  log(`  retraining requests:  ${path.join(state.stateDir, "logs", "retrain-requests.jsonl")}`);
  log(`  credentials:          ${state.credentialsFile} (serving's API key, the monitor's read and feedback tokens)`);
  return result.completed ? 0 : 1;
}

if (require.main === module) main().then((code) => process.exit(code));
