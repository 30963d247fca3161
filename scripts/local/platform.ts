/**
 * The platform's runtime on one machine, wired as in the cluster: serving sends prediction events to
 * drift and the monitor; Prometheus scrapes all three with the deployed alert rules; Alertmanager
 * routes the platform's alerts to the monitor, whose `retrain` action calls a local hook. The MLflow
 * stand-in of packages/dev-fixtures is the registry (scripts/local/registry.ts): serving and drift load the
 * champion from it, the monitor's rollback moves its aliases. PostgreSQL, Prometheus and Alertmanager are
 * the Debian packages; each is skipped, saying how to install it, when missing.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  choosePorts,
  isAlive,
  LOCAL_ALERT_ACTIONS,
  LOCAL_TIMINGS,
  LocalPlatformError,
  MODEL_NAME,
  statePath,
  writeState,
  type ComponentName,
  type ComponentState,
  type PlatformState,
  type Ports,
} from "./layout";
import { alertmanagerArgs, alertmanagerBinary, INSTALL_HINT, localAlertmanagerConfig, localAlertRules, prometheusArgs, prometheusBinary, prometheusConfig } from "./monitoring";
import { postgresBinDir, startPostgresCluster, type PostgresCluster } from "@mlops/dev-fixtures/postgres";
import { PROFILES, servingProfile } from "../../infra/profiles";
import { localAdmin, type LocalAdmin } from "./admin-password";
import { generateCredentials, writeCredentialFiles } from "./credentials";
import { buildStaleServices, ensureDemoAssets } from "./prepare";
import { CHAMPION_URI, startModelRegistry } from "./registry";
import { Supervisor, type ProcessSpec } from "./processes";
import { startRetrainHook, type RetrainHook, type RetrainRequest } from "./retrain-hook";

export interface LocalPlatformOptions {
  /** The project's root. */
  root: string;
  /** Where data, logs, configs and the state file live (`.local`). */
  stateDir: string;
  /** Free ports chosen by the system instead of the documented ones. */
  freePorts?: boolean;
  log: (line: string) => void;
  /** A component exited on its own: the platform is no longer whole. */
  onCrash: (message: string) => void;
  onRetrainRequest?: (request: RetrainRequest) => void;
}

export interface LocalPlatform {
  state: PlatformState;
  /** The platform API's first admin (when the API runs): start.ts prints a generated password once. */
  admin?: LocalAdmin;
  /** Stops everything in order (serving first, PostgreSQL last) and removes the state file. Idempotent. */
  stop(): Promise<void>;
}

export async function startLocalPlatform(opts: LocalPlatformOptions): Promise<LocalPlatform> {
  const stateDir = path.resolve(opts.stateDir);
  const dirs = {
    logs: path.join(stateDir, "logs"),
    config: path.join(stateDir, "config"),
    postgres: path.join(stateDir, "postgres"),
    prometheus: path.join(stateDir, "prometheus"),
    alertmanager: path.join(stateDir, "alertmanager"),
    demo: path.join(stateDir, "demo"),
    modelCache: path.join(stateDir, "model-cache"),
    mlflow: path.join(stateDir, "mlflow"),
  };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });
  await stopLeftovers(stateDir, opts.log);
  await stopLeftoverPostgres(path.join(dirs.postgres, "data"), opts.log);

  buildStaleServices(opts.root, opts.log);
  const demo = await ensureDemoAssets(opts.root, dirs.demo, opts.log);
  const ports = await choosePorts(opts.freePorts ?? false);

  const components: ComponentState[] = [];
  const supervisor = new Supervisor(dirs.logs, (name, code, signal, logFile) => opts.onCrash(`${name} exited (${signal ?? `code ${code}`}); see ${logFile}`));
  let postgres: PostgresCluster | undefined;
  let hook: RetrainHook | undefined;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await supervisor.stopAll();
      await hook?.close();
      await postgres?.stop();
      rmSync(statePath(stateDir), { force: true });
    })());

  try {
    const url = (port: number) => `http://127.0.0.1:${port}`;
    // A clean environment: a variable of the user's shell (MODEL_URI, DRIFT_CONFIG_FILE...) must not
    // change what the local platform is.
    const serviceEnv = (apiPort: number, metricsPort: number): NodeJS.ProcessEnv => ({
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...(process.env.TZ ? { TZ: process.env.TZ } : {}),
      PORT: String(apiPort),
      METRICS_PORT: String(metricsPort),
      HOST: "127.0.0.1",
      LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
    });
    const runManaged: RunManaged = async (name, spec, where) => {
      const p = await supervisor.start({ name, ...spec });
      components.push({ name, status: "running", url: where, pid: p.pid, cmdline: p.cmdline });
    };
    const runNodeService = (name: "monitor" | "drift" | "serving" | "api", readyPath: string, vars: Record<string, string>) =>
      runManaged(
        name,
        {
          command: process.execPath,
          args: [path.join(opts.root, "services", name, "dist/main.js")],
          readyUrl: `${url(ports[name])}${readyPath}`,
          env: { ...serviceEnv(ports[name], ports[`${name}Metrics`]), ...vars },
        },
        url(ports[name]),
      );

    // The registry first: every service resolves its model or profile there, and it stops last.
    const mlflowUrl = await startModelRegistry(runManaged, { root: opts.root, dir: dirs.mlflow, port: ports.mlflow, seedModelDir: demo.modelDir });
    const registryEnv = { MLFLOW_TRACKING_URI: mlflowUrl };

    // PostgreSQL, then the monitor on it: without the server there is no monitor.
    let databaseUrl: string | undefined;
    const pgMissing = missingPostgres();
    if (pgMissing) {
      components.push({ name: "postgres", status: "skipped", reason: pgMissing }, { name: "monitor", status: "skipped", reason: "needs PostgreSQL" });
    } else {
      postgres = await startPostgresCluster({ dataDir: dirs.postgres, port: ports.postgres, durable: true, detached: true });
      databaseUrl = await postgres.ensureDatabase("monitor");
      components.push({ name: "postgres", status: "running", url: postgres.url("monitor"), pid: postgres.pid });
    }

    const credentials = generateCredentials();
    const files = writeCredentialFiles(dirs.config, credentials);
    if (databaseUrl) {
      hook = await startRetrainHook({
        port: ports.retrainHook,
        secret: credentials.retrainWebhookSecret,
        logFile: path.join(dirs.logs, "retrain-requests.jsonl"),
        onRequest: (r) => (opts.onRetrainRequest ?? (() => undefined))(r),
      });
      components.push({ name: "retrain-hook", status: "running", url: hook.url });
      await runNodeService("monitor", "/health/ready", {
        DATABASE_URL: databaseUrl,
        QUALITY_WINDOWS: `${LOCAL_TIMINGS.qualityWindow},1h,24h`,
        QUALITY_REFRESH_S: String(LOCAL_TIMINGS.qualityRefreshS),
        MODELS_CONFIG: JSON.stringify({ [MODEL_NAME]: {} }),
        ALERT_ACTIONS: JSON.stringify(LOCAL_ALERT_ACTIONS),
        RETRAIN_WEBHOOK_URL: hook.url,
        RETRAIN_WEBHOOK_SECRET: credentials.retrainWebhookSecret,
        WEBHOOK_BACKOFF_MS: "1000",
        EVENTS_TOKEN: credentials.monitorEventsToken,
        FEEDBACK_TOKEN: credentials.feedbackToken,
        READ_TOKEN: credentials.readToken,
        ALERT_RECEIVER_TOKEN: credentials.alertReceiverToken,
        ALERT_PORT: String(ports.monitorAlerts),
        ...registryEnv,
      });
    }

    await runNodeService("drift", "/health/ready", {
      MODEL_NAME,
      REFERENCE_URI: CHAMPION_URI,
      REFERENCE_REFRESH_S: String(LOCAL_TIMINGS.registryPollS),
      ...registryEnv,
      EVALUATION_INTERVAL_S: String(LOCAL_TIMINGS.driftEvaluationS),
      WINDOW_MAX_ROWS: String(LOCAL_TIMINGS.driftWindowRows),
      WINDOW_DURATION_S: String(LOCAL_TIMINGS.driftWindowS),
      EVENTS_TOKEN: credentials.driftEventsToken,
    });
    await runNodeService("serving", "/v2/health/ready", {
      MODEL_NAME,
      MODEL_URI: CHAMPION_URI,
      RELOAD_INTERVAL_S: String(LOCAL_TIMINGS.registryPollS),
      ...registryEnv,
      MODEL_CACHE_DIR: dirs.modelCache,
      EVENT_SINKS: [url(ports.drift), ...(databaseUrl ? [url(ports.monitor)] : [])].join(","),
      EVENT_SINK_TOKENS: [credentials.driftEventsToken, ...(databaseUrl ? [credentials.monitorEventsToken] : [])].join(","),
      EVENT_FLUSH_MS: String(LOCAL_TIMINGS.eventFlushMs),
      API_KEYS_FILE: files.apiKeys,
    });

    let admin: LocalAdmin | undefined;
    if (postgres && databaseUrl) {
      admin = localAdmin(dirs.config);
      await runNodeService("api", "/health/ready", {
        ENVIRONMENT: "dev",
        DATABASE_URL: await postgres.ensureDatabase("api"),
        JWT_SIGNING_KEY: credentials.apiJwtKey,
        ADMIN_USERNAME: admin.username,
        ADMIN_PASSWORD: admin.password,
        ...registryEnv,
        SERVING_URLS: JSON.stringify({ [MODEL_NAME]: url(ports.serving) }),
        SERVING_API_KEY: credentials.apiServingKey,
        MONITOR_URL: url(ports.monitor),
        MONITOR_FEEDBACK_TOKEN: credentials.feedbackToken,
        MONITOR_READ_TOKEN: credentials.readToken,
        SERVING_PROFILE: JSON.stringify(servingProfile(PROFILES.dev)),
        MODEL_CACHE_DIR: path.join(dirs.modelCache, "api"),
      });
    } else {
      components.push({ name: "api", status: "skipped", reason: "needs PostgreSQL (its users and batch jobs)" });
    }

    await startMonitoringStack(runManaged, ports, dirs, Boolean(databaseUrl), components, files.alertToken);

    const running = (name: ComponentState["name"]) => components.some((c) => c.name === name && c.status === "running");
    const state: PlatformState = {
      launcherPid: process.pid,
      startedAt: new Date().toISOString(),
      stateDir,
      model: MODEL_NAME,
      ports,
      urls: {
        mlflow: mlflowUrl,
        serving: url(ports.serving),
        servingMetrics: `${url(ports.servingMetrics)}/metrics`,
        drift: url(ports.drift),
        driftMetrics: `${url(ports.driftMetrics)}/metrics`,
        driftReport: `${url(ports.drift)}/v1/drift/report`,
        ...(running("monitor") ? { monitor: url(ports.monitor), monitorMetrics: `${url(ports.monitorMetrics)}/metrics` } : {}),
        ...(running("api") ? { api: `${url(ports.api)}/api/v1`, apiMetrics: `${url(ports.apiMetrics)}/metrics` } : {}),
        ...(running("prometheus") ? { prometheus: url(ports.prometheus) } : {}),
        ...(running("alertmanager") ? { alertmanager: url(ports.alertmanager) } : {}),
      },
      demo: { trainCsv: demo.trainCsv, modelDir: demo.modelDir },
      modelUri: CHAMPION_URI,
      credentialsFile: files.credentials,
      components,
    };
    writeState(stateDir, state);
    return { state, stop, admin };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Prometheus (with the rules), then Alertmanager before it so the first alerts find it. */
/** Starts a supervised process and records it as a running component reachable at `where`. */
type RunManaged = (name: ComponentName, spec: Omit<ProcessSpec, "name">, where: string) => Promise<void>;

async function startMonitoringStack(
  runManaged: RunManaged,
  ports: Ports,
  dirs: Record<"config" | "prometheus" | "alertmanager", string>,
  withMonitor: boolean,
  components: ComponentState[],
  alertTokenFile: string,
): Promise<void> {
  const prometheus = prometheusBinary();
  const alertmanager = alertmanagerBinary();
  const runAlertmanager = Boolean(alertmanager && prometheus && withMonitor);
  if (runAlertmanager) {
    const config = path.join(dirs.config, "alertmanager.yml");
    writeFileSync(config, localAlertmanagerConfig(ports, alertTokenFile));
    const where = `http://127.0.0.1:${ports.alertmanager}`;
    await runManaged("alertmanager", { command: alertmanager!, args: alertmanagerArgs(config, dirs.alertmanager, ports.alertmanager), readyUrl: `${where}/-/ready` }, where);
  } else {
    const reason = !alertmanager ? `not installed: ${INSTALL_HINT}` : !prometheus ? "needs Prometheus" : "needs the monitor (its receiver), which needs PostgreSQL";
    components.push({ name: "alertmanager", status: "skipped", reason });
  }
  if (!prometheus) {
    components.push({ name: "prometheus", status: "skipped", reason: `not installed: ${INSTALL_HINT}` });
    return;
  }
  const rules = path.join(dirs.config, "alert-rules.yml");
  writeFileSync(rules, localAlertRules());
  const config = path.join(dirs.config, "prometheus.yml");
  writeFileSync(config, prometheusConfig(ports, rules, runAlertmanager, withMonitor));
  const where = `http://127.0.0.1:${ports.prometheus}`;
  await runManaged("prometheus", { command: prometheus, args: prometheusArgs(config, dirs.prometheus, ports.prometheus), readyUrl: `${where}/-/ready` }, where);
}

function missingPostgres(): string | undefined {
  try {
    postgresBinDir();
    return undefined;
  } catch {
    return "not installed: bash scripts/setup.sh (or: sudo apt-get install postgresql)";
  }
}

/**
 * A launcher killed without its Ctrl-C (kill -9, a closed terminal) leaves its process groups running:
 * stop those that are still the processes it started (same command line), refuse when it still runs.
 */
async function stopLeftovers(stateDir: string, log: (line: string) => void): Promise<void> {
  let previous: PlatformState;
  try {
    previous = JSON.parse(readFileSync(statePath(stateDir), "utf8")) as PlatformState;
  } catch {
    return;
  }
  if (previous.launcherPid !== process.pid && isAlive(previous.launcherPid)) {
    throw new LocalPlatformError(`the local platform already runs from ${stateDir} (launcher pid ${previous.launcherPid}): stop it with Ctrl-C in its terminal, or use another --state-dir`);
  }
  const leftovers: number[] = [];
  for (const c of previous.components) {
    if (!c.pid || !c.cmdline || !isAlive(c.pid)) continue;
    let cmdline = "";
    try {
      cmdline = readFileSync(`/proc/${c.pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
    } catch {
      continue;
    }
    if (cmdline !== c.cmdline) continue;
    log(`stopping ${c.name} (pid ${c.pid}) left over from an earlier run`);
    signalGroup(c.pid, "SIGTERM");
    leftovers.push(c.pid);
  }
  // As the supervisor does: SIGTERM, then SIGKILL for what is still there after 10 s.
  for (let i = 0; i < 100 && leftovers.some(isAlive); i++) await new Promise((r) => setTimeout(r, 100));
  for (const pid of leftovers.filter(isAlive)) signalGroup(pid, "SIGKILL");
  rmSync(statePath(stateDir), { force: true });
}

/** A server still running on our data directory (its postmaster.pid names it) is a leftover of ours. */
async function stopLeftoverPostgres(dataDir: string, log: (line: string) => void): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  log(`stopping PostgreSQL (pid ${pid}) left over from an earlier run`);
  process.kill(pid, "SIGINT");
  for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Gone meanwhile.
  }
}
